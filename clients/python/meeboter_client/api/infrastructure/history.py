from http import HTTPStatus
from typing import Any, Optional, Union, cast

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.error_body import ErrorBody
from ...models.infrastructure_history import InfrastructureHistory
from typing import cast



def _get_kwargs(
    
) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/infrastructure/history",
    }


    return _kwargs


def _parse_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Optional[Union[ErrorBody, InfrastructureHistory]]:
    if response.status_code == 200:
        response_200 = InfrastructureHistory.from_dict(response.json())



        return response_200
    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())



        return response_401
    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())



        return response_403
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


def _build_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Response[Union[ErrorBody, InfrastructureHistory]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,

) -> Response[Union[ErrorBody, InfrastructureHistory]]:
    """ The last 24 hours, from the database: live bots per status every 15 minutes (the queue
    length is `QUEUED`), deploy latency percentiles and join success per hour (admin). The
    dashboard's infrastructure charts draw exactly this.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[ErrorBody, InfrastructureHistory]]
     """


    kwargs = _get_kwargs(
        
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,

) -> Optional[Union[ErrorBody, InfrastructureHistory]]:
    """ The last 24 hours, from the database: live bots per status every 15 minutes (the queue
    length is `QUEUED`), deploy latency percentiles and join success per hour (admin). The
    dashboard's infrastructure charts draw exactly this.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[ErrorBody, InfrastructureHistory]
     """


    return sync_detailed(
        client=client,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,

) -> Response[Union[ErrorBody, InfrastructureHistory]]:
    """ The last 24 hours, from the database: live bots per status every 15 minutes (the queue
    length is `QUEUED`), deploy latency percentiles and join success per hour (admin). The
    dashboard's infrastructure charts draw exactly this.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[ErrorBody, InfrastructureHistory]]
     """


    kwargs = _get_kwargs(
        
    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,

) -> Optional[Union[ErrorBody, InfrastructureHistory]]:
    """ The last 24 hours, from the database: live bots per status every 15 minutes (the queue
    length is `QUEUED`), deploy latency percentiles and join success per hour (admin). The
    dashboard's infrastructure charts draw exactly this.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[ErrorBody, InfrastructureHistory]
     """


    return (await asyncio_detailed(
        client=client,

    )).parsed
