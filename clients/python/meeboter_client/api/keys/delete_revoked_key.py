from http import HTTPStatus
from typing import Any, Optional, Union, cast

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.error_body import ErrorBody
from typing import cast



def _get_kwargs(
    id: str,

) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/api/keys/{id}/revoked".format(id=id,),
    }


    return _kwargs


def _parse_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Optional[Union[Any, ErrorBody]]:
    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204
    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())



        return response_401
    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())



        return response_403
    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())



        return response_404
    if response.status_code == 409:
        response_409 = ErrorBody.from_dict(response.json())



        return response_409
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


def _build_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Response[Union[Any, ErrorBody]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: str,
    *,
    client: AuthenticatedClient,

) -> Response[Union[Any, ErrorBody]]:
    """ Delete a revoked key, so the list keeps only keys that matter. Only revoked keys can be
    deleted (409 `key_not_revoked` otherwise: revoke it first); who may delete is who may
    revoke (an admin key any key, a member key only itself).

    Args:
        id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[Any, ErrorBody]]
     """


    kwargs = _get_kwargs(
        id=id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: str,
    *,
    client: AuthenticatedClient,

) -> Optional[Union[Any, ErrorBody]]:
    """ Delete a revoked key, so the list keeps only keys that matter. Only revoked keys can be
    deleted (409 `key_not_revoked` otherwise: revoke it first); who may delete is who may
    revoke (an admin key any key, a member key only itself).

    Args:
        id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[Any, ErrorBody]
     """


    return sync_detailed(
        id=id,
client=client,

    ).parsed

async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,

) -> Response[Union[Any, ErrorBody]]:
    """ Delete a revoked key, so the list keeps only keys that matter. Only revoked keys can be
    deleted (409 `key_not_revoked` otherwise: revoke it first); who may delete is who may
    revoke (an admin key any key, a member key only itself).

    Args:
        id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[Any, ErrorBody]]
     """


    kwargs = _get_kwargs(
        id=id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,

) -> Optional[Union[Any, ErrorBody]]:
    """ Delete a revoked key, so the list keeps only keys that matter. Only revoked keys can be
    deleted (409 `key_not_revoked` otherwise: revoke it first); who may delete is who may
    revoke (an admin key any key, a member key only itself).

    Args:
        id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[Any, ErrorBody]
     """


    return (await asyncio_detailed(
        id=id,
client=client,

    )).parsed
