from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="AutomaticLeaveResource")



@_attrs_define
class AutomaticLeaveResource:
    """ 
        Attributes:
            everyone_left_timeout_secs (int):
            max_duration_secs (int):
            noone_joined_timeout_secs (int):
            waiting_room_timeout_secs (int):
     """

    everyone_left_timeout_secs: int
    max_duration_secs: int
    noone_joined_timeout_secs: int
    waiting_room_timeout_secs: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        everyone_left_timeout_secs = self.everyone_left_timeout_secs

        max_duration_secs = self.max_duration_secs

        noone_joined_timeout_secs = self.noone_joined_timeout_secs

        waiting_room_timeout_secs = self.waiting_room_timeout_secs


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "everyoneLeftTimeoutSecs": everyone_left_timeout_secs,
            "maxDurationSecs": max_duration_secs,
            "nooneJoinedTimeoutSecs": noone_joined_timeout_secs,
            "waitingRoomTimeoutSecs": waiting_room_timeout_secs,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        everyone_left_timeout_secs = d.pop("everyoneLeftTimeoutSecs")

        max_duration_secs = d.pop("maxDurationSecs")

        noone_joined_timeout_secs = d.pop("nooneJoinedTimeoutSecs")

        waiting_room_timeout_secs = d.pop("waitingRoomTimeoutSecs")

        automatic_leave_resource = cls(
            everyone_left_timeout_secs=everyone_left_timeout_secs,
            max_duration_secs=max_duration_secs,
            noone_joined_timeout_secs=noone_joined_timeout_secs,
            waiting_room_timeout_secs=waiting_room_timeout_secs,
        )


        automatic_leave_resource.additional_properties = d
        return automatic_leave_resource

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
