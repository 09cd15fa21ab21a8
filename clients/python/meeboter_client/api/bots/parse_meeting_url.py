from http import HTTPStatus
from typing import Any, Optional, Union, cast

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.error_body import ErrorBody
from ...models.parsed_meeting_url import ParsedMeetingUrl
from typing import cast



def _get_kwargs(
    *,
    url_query: str,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["url"] = url_query


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/meeting-urls/parse",
        "params": params,
    }


    return _kwargs


def _parse_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Optional[Union[ErrorBody, ParsedMeetingUrl]]:
    if response.status_code == 200:
        response_200 = ParsedMeetingUrl.from_dict(response.json())



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


def _build_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Response[Union[ErrorBody, ParsedMeetingUrl]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    url_query: str,

) -> Response[Union[ErrorBody, ParsedMeetingUrl]]:
    """ Check a meeting link without creating a bot: which platform it is, or why it is not
    one we can join (the same rules as `POST /api/bots`; the dashboard checks as you type).

    Args:
        url_query (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[ErrorBody, ParsedMeetingUrl]]
     """


    kwargs = _get_kwargs(
        url_query=url_query,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    url_query: str,

) -> Optional[Union[ErrorBody, ParsedMeetingUrl]]:
    """ Check a meeting link without creating a bot: which platform it is, or why it is not
    one we can join (the same rules as `POST /api/bots`; the dashboard checks as you type).

    Args:
        url_query (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[ErrorBody, ParsedMeetingUrl]
     """


    return sync_detailed(
        client=client,
url_query=url_query,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    url_query: str,

) -> Response[Union[ErrorBody, ParsedMeetingUrl]]:
    """ Check a meeting link without creating a bot: which platform it is, or why it is not
    one we can join (the same rules as `POST /api/bots`; the dashboard checks as you type).

    Args:
        url_query (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[ErrorBody, ParsedMeetingUrl]]
     """


    kwargs = _get_kwargs(
        url_query=url_query,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    url_query: str,

) -> Optional[Union[ErrorBody, ParsedMeetingUrl]]:
    """ Check a meeting link without creating a bot: which platform it is, or why it is not
    one we can join (the same rules as `POST /api/bots`; the dashboard checks as you type).

    Args:
        url_query (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[ErrorBody, ParsedMeetingUrl]
     """


    return (await asyncio_detailed(
        client=client,
url_query=url_query,

    )).parsed
