from http import HTTPStatus
from typing import Any, Optional, Union, cast

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.bot_resource import BotResource
from ...models.create_bot_request import CreateBotRequest
from ...models.error_body import ErrorBody
from ...types import UNSET, Unset
from typing import cast
from typing import Union



def _get_kwargs(
    *,
    body: CreateBotRequest,
    idempotency_key: Union[Unset, str] = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/bots",
    }

    _body = body.to_dict()


    _kwargs["json"] = _body
    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Optional[Union[BotResource, ErrorBody]]:
    if response.status_code == 200:
        response_200 = BotResource.from_dict(response.json())



        return response_200
    if response.status_code == 201:
        response_201 = BotResource.from_dict(response.json())



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


def _build_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Response[Union[BotResource, ErrorBody]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: CreateBotRequest,
    idempotency_key: Union[Unset, str] = UNSET,

) -> Response[Union[BotResource, ErrorBody]]:
    """ Create a bot.

     Returns 201 with the new bot, or 200 with the existing live bot when
    `deduplicationKey` matches one. With an `Idempotency-Key` header, a retry within 24
    hours replays the first response (header `Idempotent-Replayed: true`).

    Args:
        idempotency_key (Union[Unset, str]):
        body (CreateBotRequest): Body of `POST /api/bots`. Example: {'automaticLeave':
            {'nooneJoinedTimeoutSecs': 300}, 'botName': 'Notetaker', 'meetingUrl':
            'https://meet.google.com/abc-defg-hij', 'metadata': {'crmId': '42'}, 'recordingMode':
            'audio', 'transcription': {'provider': 'meeting_captions'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[BotResource, ErrorBody]]
     """


    kwargs = _get_kwargs(
        body=body,
idempotency_key=idempotency_key,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    body: CreateBotRequest,
    idempotency_key: Union[Unset, str] = UNSET,

) -> Optional[Union[BotResource, ErrorBody]]:
    """ Create a bot.

     Returns 201 with the new bot, or 200 with the existing live bot when
    `deduplicationKey` matches one. With an `Idempotency-Key` header, a retry within 24
    hours replays the first response (header `Idempotent-Replayed: true`).

    Args:
        idempotency_key (Union[Unset, str]):
        body (CreateBotRequest): Body of `POST /api/bots`. Example: {'automaticLeave':
            {'nooneJoinedTimeoutSecs': 300}, 'botName': 'Notetaker', 'meetingUrl':
            'https://meet.google.com/abc-defg-hij', 'metadata': {'crmId': '42'}, 'recordingMode':
            'audio', 'transcription': {'provider': 'meeting_captions'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[BotResource, ErrorBody]
     """


    return sync_detailed(
        client=client,
body=body,
idempotency_key=idempotency_key,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: CreateBotRequest,
    idempotency_key: Union[Unset, str] = UNSET,

) -> Response[Union[BotResource, ErrorBody]]:
    """ Create a bot.

     Returns 201 with the new bot, or 200 with the existing live bot when
    `deduplicationKey` matches one. With an `Idempotency-Key` header, a retry within 24
    hours replays the first response (header `Idempotent-Replayed: true`).

    Args:
        idempotency_key (Union[Unset, str]):
        body (CreateBotRequest): Body of `POST /api/bots`. Example: {'automaticLeave':
            {'nooneJoinedTimeoutSecs': 300}, 'botName': 'Notetaker', 'meetingUrl':
            'https://meet.google.com/abc-defg-hij', 'metadata': {'crmId': '42'}, 'recordingMode':
            'audio', 'transcription': {'provider': 'meeting_captions'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[BotResource, ErrorBody]]
     """


    kwargs = _get_kwargs(
        body=body,
idempotency_key=idempotency_key,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    body: CreateBotRequest,
    idempotency_key: Union[Unset, str] = UNSET,

) -> Optional[Union[BotResource, ErrorBody]]:
    """ Create a bot.

     Returns 201 with the new bot, or 200 with the existing live bot when
    `deduplicationKey` matches one. With an `Idempotency-Key` header, a retry within 24
    hours replays the first response (header `Idempotent-Replayed: true`).

    Args:
        idempotency_key (Union[Unset, str]):
        body (CreateBotRequest): Body of `POST /api/bots`. Example: {'automaticLeave':
            {'nooneJoinedTimeoutSecs': 300}, 'botName': 'Notetaker', 'meetingUrl':
            'https://meet.google.com/abc-defg-hij', 'metadata': {'crmId': '42'}, 'recordingMode':
            'audio', 'transcription': {'provider': 'meeting_captions'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[BotResource, ErrorBody]
     """


    return (await asyncio_detailed(
        client=client,
body=body,
idempotency_key=idempotency_key,

    )).parsed
