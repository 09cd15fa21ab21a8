from http import HTTPStatus
from typing import Any, Optional, Union, cast

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.error_body import ErrorBody
from ...models.ready_status import ReadyStatus
from typing import cast



def _get_kwargs(
    
) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/readyz",
    }


    return _kwargs


def _parse_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Optional[Union[ErrorBody, ReadyStatus]]:
    if response.status_code == 200:
        response_200 = ReadyStatus.from_dict(response.json())



        return response_200
    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())



        return response_503
    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Response[Union[ErrorBody, ReadyStatus]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: Union[AuthenticatedClient, Client],

) -> Response[Union[ErrorBody, ReadyStatus]]:
    """ The server can serve requests: the database answers (else 503). Problems of this machine
    that would make bots or recordings fail (a missing Chromium, storage that does not take a
    write) answer 200 with `status: degraded` and the list, so a load balancer keeps the API up.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[ErrorBody, ReadyStatus]]
     """


    kwargs = _get_kwargs(
        
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: Union[AuthenticatedClient, Client],

) -> Optional[Union[ErrorBody, ReadyStatus]]:
    """ The server can serve requests: the database answers (else 503). Problems of this machine
    that would make bots or recordings fail (a missing Chromium, storage that does not take a
    write) answer 200 with `status: degraded` and the list, so a load balancer keeps the API up.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[ErrorBody, ReadyStatus]
     """


    return sync_detailed(
        client=client,

    ).parsed

async def asyncio_detailed(
    *,
    client: Union[AuthenticatedClient, Client],

) -> Response[Union[ErrorBody, ReadyStatus]]:
    """ The server can serve requests: the database answers (else 503). Problems of this machine
    that would make bots or recordings fail (a missing Chromium, storage that does not take a
    write) answer 200 with `status: degraded` and the list, so a load balancer keeps the API up.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[ErrorBody, ReadyStatus]]
     """


    kwargs = _get_kwargs(
        
    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: Union[AuthenticatedClient, Client],

) -> Optional[Union[ErrorBody, ReadyStatus]]:
    """ The server can serve requests: the database answers (else 503). Problems of this machine
    that would make bots or recordings fail (a missing Chromium, storage that does not take a
    write) answer 200 with `status: degraded` and the list, so a load balancer keeps the API up.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[ErrorBody, ReadyStatus]
     """


    return (await asyncio_detailed(
        client=client,

    )).parsed
