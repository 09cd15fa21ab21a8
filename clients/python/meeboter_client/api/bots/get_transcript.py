from http import HTTPStatus
from typing import Any, Optional, Union, cast

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.error_body import ErrorBody
from ...models.transcript_format_wire import TranscriptFormatWire
from ...models.transcript_resource import TranscriptResource
from ...types import UNSET, Unset
from typing import cast
from typing import Union
from uuid import UUID



def _get_kwargs(
    id: str,
    *,
    format_: Union[Unset, TranscriptFormatWire] = UNSET,
    cursor: Union[Unset, UUID] = UNSET,
    limit: Union[Unset, int] = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_format_: Union[Unset, str] = UNSET
    if not isinstance(format_, Unset):
        json_format_ = format_.value

    params["format"] = json_format_

    json_cursor: Union[Unset, str] = UNSET
    if not isinstance(cursor, Unset):
        json_cursor = str(cursor)
    params["cursor"] = json_cursor

    params["limit"] = limit


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/bots/{id}/transcript".format(id=id,),
        "params": params,
    }


    return _kwargs


def _parse_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Optional[Union[ErrorBody, TranscriptResource]]:
    if response.status_code == 200:
        response_200 = TranscriptResource.from_dict(response.json())



        return response_200
    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())



        return response_401
    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())



        return response_404
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


def _build_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Response[Union[ErrorBody, TranscriptResource]]:
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
    format_: Union[Unset, TranscriptFormatWire] = UNSET,
    cursor: Union[Unset, UUID] = UNSET,
    limit: Union[Unset, int] = UNSET,

) -> Response[Union[ErrorBody, TranscriptResource]]:
    """ Get a bot's transcript.

    Args:
        id (str):
        format_ (Union[Unset, TranscriptFormatWire]): Format of `GET /api/bots/{id}/transcript`.
        cursor (Union[Unset, UUID]):
        limit (Union[Unset, int]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[ErrorBody, TranscriptResource]]
     """


    kwargs = _get_kwargs(
        id=id,
format_=format_,
cursor=cursor,
limit=limit,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: str,
    *,
    client: AuthenticatedClient,
    format_: Union[Unset, TranscriptFormatWire] = UNSET,
    cursor: Union[Unset, UUID] = UNSET,
    limit: Union[Unset, int] = UNSET,

) -> Optional[Union[ErrorBody, TranscriptResource]]:
    """ Get a bot's transcript.

    Args:
        id (str):
        format_ (Union[Unset, TranscriptFormatWire]): Format of `GET /api/bots/{id}/transcript`.
        cursor (Union[Unset, UUID]):
        limit (Union[Unset, int]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[ErrorBody, TranscriptResource]
     """


    return sync_detailed(
        id=id,
client=client,
format_=format_,
cursor=cursor,
limit=limit,

    ).parsed

async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    format_: Union[Unset, TranscriptFormatWire] = UNSET,
    cursor: Union[Unset, UUID] = UNSET,
    limit: Union[Unset, int] = UNSET,

) -> Response[Union[ErrorBody, TranscriptResource]]:
    """ Get a bot's transcript.

    Args:
        id (str):
        format_ (Union[Unset, TranscriptFormatWire]): Format of `GET /api/bots/{id}/transcript`.
        cursor (Union[Unset, UUID]):
        limit (Union[Unset, int]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[ErrorBody, TranscriptResource]]
     """


    kwargs = _get_kwargs(
        id=id,
format_=format_,
cursor=cursor,
limit=limit,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,
    format_: Union[Unset, TranscriptFormatWire] = UNSET,
    cursor: Union[Unset, UUID] = UNSET,
    limit: Union[Unset, int] = UNSET,

) -> Optional[Union[ErrorBody, TranscriptResource]]:
    """ Get a bot's transcript.

    Args:
        id (str):
        format_ (Union[Unset, TranscriptFormatWire]): Format of `GET /api/bots/{id}/transcript`.
        cursor (Union[Unset, UUID]):
        limit (Union[Unset, int]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[ErrorBody, TranscriptResource]
     """


    return (await asyncio_detailed(
        id=id,
client=client,
format_=format_,
cursor=cursor,
limit=limit,

    )).parsed
