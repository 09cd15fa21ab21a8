from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.bot_status_wire import BotStatusWire
from ..types import UNSET, Unset
from dateutil.parser import isoparse
from typing import cast
from typing import cast, Union
from typing import Union
import datetime






T = TypeVar("T", bound="StatusChangeResource")



@_attrs_define
class StatusChangeResource:
    """ One status change. `subCode` is an open vocabulary (e.g. `waiting_room_timeout`,
    `everyone_left`, `kicked`): clients must tolerate values they do not know.

        Attributes:
            at (datetime.datetime):
            status (BotStatusWire): Bot status. `ENDED` and `FATAL` are terminal.
            message (Union[None, Unset, str]):
            sub_code (Union[None, Unset, str]):
     """

    at: datetime.datetime
    status: BotStatusWire
    message: Union[None, Unset, str] = UNSET
    sub_code: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        at = self.at.isoformat()

        status = self.status.value

        message: Union[None, Unset, str]
        if isinstance(self.message, Unset):
            message = UNSET
        else:
            message = self.message

        sub_code: Union[None, Unset, str]
        if isinstance(self.sub_code, Unset):
            sub_code = UNSET
        else:
            sub_code = self.sub_code


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "at": at,
            "status": status,
        })
        if message is not UNSET:
            field_dict["message"] = message
        if sub_code is not UNSET:
            field_dict["subCode"] = sub_code

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        at = isoparse(d.pop("at"))




        status = BotStatusWire(d.pop("status"))




        def _parse_message(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        message = _parse_message(d.pop("message", UNSET))


        def _parse_sub_code(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        sub_code = _parse_sub_code(d.pop("subCode", UNSET))


        status_change_resource = cls(
            at=at,
            status=status,
            message=message,
            sub_code=sub_code,
        )


        status_change_resource.additional_properties = d
        return status_change_resource

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
