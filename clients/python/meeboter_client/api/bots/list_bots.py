from http import HTTPStatus
from typing import Any, Optional, Union, cast

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.bot_list import BotList
from ...models.error_body import ErrorBody
from ...models.platform_wire import PlatformWire
from ...types import UNSET, Unset
from dateutil.parser import isoparse
from typing import cast
from typing import Union
from uuid import UUID
import datetime



def _get_kwargs(
    *,
    status: Union[Unset, str] = UNSET,
    platform: Union[Unset, PlatformWire] = UNSET,
    created_after: Union[Unset, datetime.datetime] = UNSET,
    created_before: Union[Unset, datetime.datetime] = UNSET,
    search: Union[Unset, str] = UNSET,
    limit: Union[Unset, int] = UNSET,
    cursor: Union[Unset, UUID] = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["status"] = status

    json_platform: Union[Unset, str] = UNSET
    if not isinstance(platform, Unset):
        json_platform = platform.value

    params["platform"] = json_platform

    json_created_after: Union[Unset, str] = UNSET
    if not isinstance(created_after, Unset):
        json_created_after = created_after.isoformat()
    params["createdAfter"] = json_created_after

    json_created_before: Union[Unset, str] = UNSET
    if not isinstance(created_before, Unset):
        json_created_before = created_before.isoformat()
    params["createdBefore"] = json_created_before

    params["search"] = search

    params["limit"] = limit

    json_cursor: Union[Unset, str] = UNSET
    if not isinstance(cursor, Unset):
        json_cursor = str(cursor)
    params["cursor"] = json_cursor


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/bots",
        "params": params,
    }


    return _kwargs


def _parse_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Optional[Union[BotList, ErrorBody]]:
    if response.status_code == 200:
        response_200 = BotList.from_dict(response.json())



        return response_200
    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())



        return response_401
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


def _build_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Response[Union[BotList, ErrorBody]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    status: Union[Unset, str] = UNSET,
    platform: Union[Unset, PlatformWire] = UNSET,
    created_after: Union[Unset, datetime.datetime] = UNSET,
    created_before: Union[Unset, datetime.datetime] = UNSET,
    search: Union[Unset, str] = UNSET,
    limit: Union[Unset, int] = UNSET,
    cursor: Union[Unset, UUID] = UNSET,

) -> Response[Union[BotList, ErrorBody]]:
    """ List your bots, newest first.

    Args:
        status (Union[Unset, str]):
        platform (Union[Unset, PlatformWire]): Meeting platform.
        created_after (Union[Unset, datetime.datetime]):
        created_before (Union[Unset, datetime.datetime]):
        search (Union[Unset, str]):
        limit (Union[Unset, int]):
        cursor (Union[Unset, UUID]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[BotList, ErrorBody]]
     """


    kwargs = _get_kwargs(
        status=status,
platform=platform,
created_after=created_after,
created_before=created_before,
search=search,
limit=limit,
cursor=cursor,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    status: Union[Unset, str] = UNSET,
    platform: Union[Unset, PlatformWire] = UNSET,
    created_after: Union[Unset, datetime.datetime] = UNSET,
    created_before: Union[Unset, datetime.datetime] = UNSET,
    search: Union[Unset, str] = UNSET,
    limit: Union[Unset, int] = UNSET,
    cursor: Union[Unset, UUID] = UNSET,

) -> Optional[Union[BotList, ErrorBody]]:
    """ List your bots, newest first.

    Args:
        status (Union[Unset, str]):
        platform (Union[Unset, PlatformWire]): Meeting platform.
        created_after (Union[Unset, datetime.datetime]):
        created_before (Union[Unset, datetime.datetime]):
        search (Union[Unset, str]):
        limit (Union[Unset, int]):
        cursor (Union[Unset, UUID]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[BotList, ErrorBody]
     """


    return sync_detailed(
        client=client,
status=status,
platform=platform,
created_after=created_after,
created_before=created_before,
search=search,
limit=limit,
cursor=cursor,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    status: Union[Unset, str] = UNSET,
    platform: Union[Unset, PlatformWire] = UNSET,
    created_after: Union[Unset, datetime.datetime] = UNSET,
    created_before: Union[Unset, datetime.datetime] = UNSET,
    search: Union[Unset, str] = UNSET,
    limit: Union[Unset, int] = UNSET,
    cursor: Union[Unset, UUID] = UNSET,

) -> Response[Union[BotList, ErrorBody]]:
    """ List your bots, newest first.

    Args:
        status (Union[Unset, str]):
        platform (Union[Unset, PlatformWire]): Meeting platform.
        created_after (Union[Unset, datetime.datetime]):
        created_before (Union[Unset, datetime.datetime]):
        search (Union[Unset, str]):
        limit (Union[Unset, int]):
        cursor (Union[Unset, UUID]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[BotList, ErrorBody]]
     """


    kwargs = _get_kwargs(
        status=status,
platform=platform,
created_after=created_after,
created_before=created_before,
search=search,
limit=limit,
cursor=cursor,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    status: Union[Unset, str] = UNSET,
    platform: Union[Unset, PlatformWire] = UNSET,
    created_after: Union[Unset, datetime.datetime] = UNSET,
    created_before: Union[Unset, datetime.datetime] = UNSET,
    search: Union[Unset, str] = UNSET,
    limit: Union[Unset, int] = UNSET,
    cursor: Union[Unset, UUID] = UNSET,

) -> Optional[Union[BotList, ErrorBody]]:
    """ List your bots, newest first.

    Args:
        status (Union[Unset, str]):
        platform (Union[Unset, PlatformWire]): Meeting platform.
        created_after (Union[Unset, datetime.datetime]):
        created_before (Union[Unset, datetime.datetime]):
        search (Union[Unset, str]):
        limit (Union[Unset, int]):
        cursor (Union[Unset, UUID]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[BotList, ErrorBody]
     """


    return (await asyncio_detailed(
        client=client,
status=status,
platform=platform,
created_after=created_after,
created_before=created_before,
search=search,
limit=limit,
cursor=cursor,

    )).parsed
