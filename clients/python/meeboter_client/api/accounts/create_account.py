from http import HTTPStatus
from typing import Any, Optional, Union, cast

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.account_resource import AccountResource
from ...models.create_account_request import CreateAccountRequest
from ...models.error_body import ErrorBody
from typing import cast



def _get_kwargs(
    *,
    body: CreateAccountRequest,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/accounts",
    }

    _body = body.to_dict()


    _kwargs["json"] = _body
    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Optional[Union[AccountResource, ErrorBody]]:
    if response.status_code == 201:
        response_201 = AccountResource.from_dict(response.json())



        return response_201
    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())



        return response_400
    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())



        return response_401
    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())



        return response_403
    if response.status_code == 409:
        response_409 = ErrorBody.from_dict(response.json())



        return response_409
    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())



        return response_413
    if response.status_code == 415:
        response_415 = ErrorBody.from_dict(response.json())



        return response_415
    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())



        return response_422
    if response.status_code == 429:
        response_429 = ErrorBody.from_dict(response.json())



        return response_429
    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())



        return response_503
    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Response[Union[AccountResource, ErrorBody]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: CreateAccountRequest,

) -> Response[Union[AccountResource, ErrorBody]]:
    """ Create an account (admin).

    Args:
        body (CreateAccountRequest):  Example: {'name': 'Acme'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[AccountResource, ErrorBody]]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    body: CreateAccountRequest,

) -> Optional[Union[AccountResource, ErrorBody]]:
    """ Create an account (admin).

    Args:
        body (CreateAccountRequest):  Example: {'name': 'Acme'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[AccountResource, ErrorBody]
     """


    return sync_detailed(
        client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: CreateAccountRequest,

) -> Response[Union[AccountResource, ErrorBody]]:
    """ Create an account (admin).

    Args:
        body (CreateAccountRequest):  Example: {'name': 'Acme'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[AccountResource, ErrorBody]]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    body: CreateAccountRequest,

) -> Optional[Union[AccountResource, ErrorBody]]:
    """ Create an account (admin).

    Args:
        body (CreateAccountRequest):  Example: {'name': 'Acme'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[AccountResource, ErrorBody]
     """


    return (await asyncio_detailed(
        client=client,
body=body,

    )).parsed
