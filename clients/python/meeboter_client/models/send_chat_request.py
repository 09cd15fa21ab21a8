from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="SendChatRequest")



@_attrs_define
class SendChatRequest:
    """ 
        Example:
            {'message': 'Hello from Meeboter: this meeting is recorded.'}

        Attributes:
            message (str): 1–4096 characters, not blank.
     """

    message: str


    def to_dict(self) -> dict[str, Any]:
        message = self.message


        field_dict: dict[str, Any] = {}
        field_dict.update({
            "message": message,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        message = d.pop("message")

        send_chat_request = cls(
            message=message,
        )

        return send_chat_request

