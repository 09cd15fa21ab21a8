from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from dateutil.parser import isoparse
from typing import cast
from typing import cast, Union
from typing import Union
import datetime






T = TypeVar("T", bound="ChatMessageResource")



@_attrs_define
class ChatMessageResource:
    """ 
        Attributes:
            created_at (datetime.datetime):
            direction (str): `outgoing` (sent through the API, posted by the bot) or `incoming` (written by someone
                in the meeting).
            id (str):
            status (str): Outgoing: `queued`, `sending`, `sent` or `failed`; incoming: `received`.
            text (str):
            done_at (Union[None, Unset, datetime.datetime]):
            error (Union[None, Unset, str]):
            sender (Union[None, Unset, str]): Who wrote an incoming message (`null` for outgoing ones: the bot).
     """

    created_at: datetime.datetime
    direction: str
    id: str
    status: str
    text: str
    done_at: Union[None, Unset, datetime.datetime] = UNSET
    error: Union[None, Unset, str] = UNSET
    sender: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        direction = self.direction

        id = self.id

        status = self.status

        text = self.text

        done_at: Union[None, Unset, str]
        if isinstance(self.done_at, Unset):
            done_at = UNSET
        elif isinstance(self.done_at, datetime.datetime):
            done_at = self.done_at.isoformat()
        else:
            done_at = self.done_at

        error: Union[None, Unset, str]
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        sender: Union[None, Unset, str]
        if isinstance(self.sender, Unset):
            sender = UNSET
        else:
            sender = self.sender


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "createdAt": created_at,
            "direction": direction,
            "id": id,
            "status": status,
            "text": text,
        })
        if done_at is not UNSET:
            field_dict["doneAt"] = done_at
        if error is not UNSET:
            field_dict["error"] = error
        if sender is not UNSET:
            field_dict["sender"] = sender

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = isoparse(d.pop("createdAt"))




        direction = d.pop("direction")

        id = d.pop("id")

        status = d.pop("status")

        text = d.pop("text")

        def _parse_done_at(data: object) -> Union[None, Unset, datetime.datetime]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                done_at_type_0 = isoparse(data)



                return done_at_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, datetime.datetime], data)

        done_at = _parse_done_at(d.pop("doneAt", UNSET))


        def _parse_error(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        error = _parse_error(d.pop("error", UNSET))


        def _parse_sender(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        sender = _parse_sender(d.pop("sender", UNSET))


        chat_message_resource = cls(
            created_at=created_at,
            direction=direction,
            id=id,
            status=status,
            text=text,
            done_at=done_at,
            error=error,
            sender=sender,
        )


        chat_message_resource.additional_properties = d
        return chat_message_resource

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
