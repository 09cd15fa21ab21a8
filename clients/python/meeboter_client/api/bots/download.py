from http import HTTPStatus
from typing import Any, Optional, Union, cast

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.error_body import ErrorBody
from ...types import File, FileJsonType
from ...types import UNSET, Unset
from io import BytesIO
from typing import cast
from typing import Union



def _get_kwargs(
    *,
    key: str,
    exp: int,
    name: Union[Unset, str] = UNSET,
    sig: str,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["key"] = key

    params["exp"] = exp

    params["name"] = name

    params["sig"] = sig


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/media",
        "params": params,
    }


    return _kwargs


def _parse_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Optional[Union[ErrorBody, File]]:
    if response.status_code == 200:
        response_200 = File(
             payload = BytesIO(response.content)
        )



        return response_200
    if response.status_code == 206:
        response_206 = File(
             payload = BytesIO(response.content)
        )



        return response_206
    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())



        return response_403
    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())



        return response_404
    if response.status_code == 416:
        response_416 = ErrorBody.from_dict(response.json())



        return response_416
    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())



        return response_422
    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())



        return response_503
    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: Union[AuthenticatedClient, Client], response: httpx.Response) -> Response[Union[ErrorBody, File]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: Union[AuthenticatedClient, Client],
    key: str,
    exp: int,
    name: Union[Unset, str] = UNSET,
    sig: str,

) -> Response[Union[ErrorBody, File]]:
    """ Download stored media through a signed URL from this server (filesystem backend);
    supports `Range`.

    Args:
        key (str):
        exp (int):
        name (Union[Unset, str]):
        sig (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[ErrorBody, File]]
     """


    kwargs = _get_kwargs(
        key=key,
exp=exp,
name=name,
sig=sig,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: Union[AuthenticatedClient, Client],
    key: str,
    exp: int,
    name: Union[Unset, str] = UNSET,
    sig: str,

) -> Optional[Union[ErrorBody, File]]:
    """ Download stored media through a signed URL from this server (filesystem backend);
    supports `Range`.

    Args:
        key (str):
        exp (int):
        name (Union[Unset, str]):
        sig (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[ErrorBody, File]
     """


    return sync_detailed(
        client=client,
key=key,
exp=exp,
name=name,
sig=sig,

    ).parsed

async def asyncio_detailed(
    *,
    client: Union[AuthenticatedClient, Client],
    key: str,
    exp: int,
    name: Union[Unset, str] = UNSET,
    sig: str,

) -> Response[Union[ErrorBody, File]]:
    """ Download stored media through a signed URL from this server (filesystem backend);
    supports `Range`.

    Args:
        key (str):
        exp (int):
        name (Union[Unset, str]):
        sig (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Union[ErrorBody, File]]
     """


    kwargs = _get_kwargs(
        key=key,
exp=exp,
name=name,
sig=sig,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: Union[AuthenticatedClient, Client],
    key: str,
    exp: int,
    name: Union[Unset, str] = UNSET,
    sig: str,

) -> Optional[Union[ErrorBody, File]]:
    """ Download stored media through a signed URL from this server (filesystem backend);
    supports `Range`.

    Args:
        key (str):
        exp (int):
        name (Union[Unset, str]):
        sig (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Union[ErrorBody, File]
     """


    return (await asyncio_detailed(
        client=client,
key=key,
exp=exp,
name=name,
sig=sig,

    )).parsed
