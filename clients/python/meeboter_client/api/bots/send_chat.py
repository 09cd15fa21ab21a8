from http import HTTPStatus
from typing import Any, Optional, Union, cast

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.chat_message_resource import ChatMessageResource
from ...models.error_body import ErrorBody
from ...models.send_chat_request import SendChatRequest
from typing import cast



def _get_kwargs(
    id: str,
    *,
    body: SendChatRequest,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/bots/{id}/chat".format(id=id,),
    }

    _body = body.to_dict()


    _kwargs["json"] = _body
    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Optional[Union[ChatMessageResource, ErrorBody]]:
    if response.status_code == 202:
        response_202 = ChatMessageResource.from_dict(response.json())



        return response_202
    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())



        return response_400
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


def _build_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Response[Union[ChatMessageResource, ErrorBody]]:
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
    body: SendChatRequest,

) -> Response[Union[ChatMessageResource, ErrorBody]]:
    """ Queue a chat message for the bot to post in the meeting.

    Args:
        id (str):
        body (SendChatRequest):  Example: {'message': 'Hello from Meeboter: this meeting is
            recorded.'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[ChatMessageResource, ErrorBody]]
     """


    kwargs = _get_kwargs(
        id=id,
body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    id: str,
    *,
    client: AuthenticatedClient,
    body: SendChatRequest,

) -> Optional[Union[ChatMessageResource, ErrorBody]]:
    """ Queue a chat message for the bot to post in the meeting.

    Args:
        id (str):
        body (SendChatRequest):  Example: {'message': 'Hello from Meeboter: this meeting is
            recorded.'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[ChatMessageResource, ErrorBody]
     """


    return sync_detailed(
        id=id,
client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    body: SendChatRequest,

) -> Response[Union[ChatMessageResource, ErrorBody]]:
    """ Queue a chat message for the bot to post in the meeting.

    Args:
        id (str):
        body (SendChatRequest):  Example: {'message': 'Hello from Meeboter: this meeting is
            recorded.'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[ChatMessageResource, ErrorBody]]
     """


    kwargs = _get_kwargs(
        id=id,
body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,
    body: SendChatRequest,

) -> Optional[Union[ChatMessageResource, ErrorBody]]:
    """ Queue a chat message for the bot to post in the meeting.

    Args:
        id (str):
        body (SendChatRequest):  Example: {'message': 'Hello from Meeboter: this meeting is
            recorded.'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[ChatMessageResource, ErrorBody]
     """


    return (await asyncio_detailed(
        id=id,
client=client,
body=body,

    )).parsed
