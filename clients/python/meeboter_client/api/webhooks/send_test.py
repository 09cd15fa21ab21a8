from http import HTTPStatus
from typing import Any, Optional, Union, cast

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.error_body import ErrorBody
from ...models.test_delivery import TestDelivery
from typing import cast



def _get_kwargs(
    id: str,

) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/webhooks/{id}/test".format(id=id,),
    }


    return _kwargs


def _parse_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Optional[Union[ErrorBody, TestDelivery]]:
    if response.status_code == 202:
        response_202 = TestDelivery.from_dict(response.json())



        return response_202
    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())



        return response_401
    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())



        return response_403
    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())



        return response_404
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


def _build_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Response[Union[ErrorBody, TestDelivery]]:
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

) -> Response[Union[ErrorBody, TestDelivery]]:
    """ Queue a `webhook.test` event for this endpoint, so its receiver (URL, signature check,
    answer) can be tried without waiting for a bot. It is delivered like any event: signed
    with the endpoint's secret, retried with backoff, listed with its attempts.

    Args:
        id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[ErrorBody, TestDelivery]]
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

) -> Optional[Union[ErrorBody, TestDelivery]]:
    """ Queue a `webhook.test` event for this endpoint, so its receiver (URL, signature check,
    answer) can be tried without waiting for a bot. It is delivered like any event: signed
    with the endpoint's secret, retried with backoff, listed with its attempts.

    Args:
        id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[ErrorBody, TestDelivery]
     """


    return sync_detailed(
        id=id,
client=client,

    ).parsed

async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,

) -> Response[Union[ErrorBody, TestDelivery]]:
    """ Queue a `webhook.test` event for this endpoint, so its receiver (URL, signature check,
    answer) can be tried without waiting for a bot. It is delivered like any event: signed
    with the endpoint's secret, retried with backoff, listed with its attempts.

    Args:
        id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[ErrorBody, TestDelivery]]
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

) -> Optional[Union[ErrorBody, TestDelivery]]:
    """ Queue a `webhook.test` event for this endpoint, so its receiver (URL, signature check,
    answer) can be tried without waiting for a bot. It is delivered like any event: signed
    with the endpoint's secret, retried with backoff, listed with its attempts.

    Args:
        id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[ErrorBody, TestDelivery]
     """


    return (await asyncio_detailed(
        id=id,
client=client,

    )).parsed
