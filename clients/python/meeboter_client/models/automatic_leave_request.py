from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="AutomaticLeaveRequest")



@_attrs_define
class AutomaticLeaveRequest:
    """ Automatic-leave overrides, in seconds. Absent fields take the defaults.

        Attributes:
            everyone_left_timeout_secs (Union[None, Unset, int]): Default 60, range 1–86400.
            max_duration_secs (Union[None, Unset, int]): Default 14400, range 60–86400.
            noone_joined_timeout_secs (Union[None, Unset, int]): Default 600, range 10–86400.
            waiting_room_timeout_secs (Union[None, Unset, int]): Default 1200, range 10–86400.
     """

    everyone_left_timeout_secs: Union[None, Unset, int] = UNSET
    max_duration_secs: Union[None, Unset, int] = UNSET
    noone_joined_timeout_secs: Union[None, Unset, int] = UNSET
    waiting_room_timeout_secs: Union[None, Unset, int] = UNSET


    def to_dict(self) -> dict[str, Any]:
        everyone_left_timeout_secs: Union[None, Unset, int]
        if isinstance(self.everyone_left_timeout_secs, Unset):
            everyone_left_timeout_secs = UNSET
        else:
            everyone_left_timeout_secs = self.everyone_left_timeout_secs

        max_duration_secs: Union[None, Unset, int]
        if isinstance(self.max_duration_secs, Unset):
            max_duration_secs = UNSET
        else:
            max_duration_secs = self.max_duration_secs

        noone_joined_timeout_secs: Union[None, Unset, int]
        if isinstance(self.noone_joined_timeout_secs, Unset):
            noone_joined_timeout_secs = UNSET
        else:
            noone_joined_timeout_secs = self.noone_joined_timeout_secs

        waiting_room_timeout_secs: Union[None, Unset, int]
        if isinstance(self.waiting_room_timeout_secs, Unset):
            waiting_room_timeout_secs = UNSET
        else:
            waiting_room_timeout_secs = self.waiting_room_timeout_secs


        field_dict: dict[str, Any] = {}
        field_dict.update({
        })
        if everyone_left_timeout_secs is not UNSET:
            field_dict["everyoneLeftTimeoutSecs"] = everyone_left_timeout_secs
        if max_duration_secs is not UNSET:
            field_dict["maxDurationSecs"] = max_duration_secs
        if noone_joined_timeout_secs is not UNSET:
            field_dict["nooneJoinedTimeoutSecs"] = noone_joined_timeout_secs
        if waiting_room_timeout_secs is not UNSET:
            field_dict["waitingRoomTimeoutSecs"] = waiting_room_timeout_secs

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_everyone_left_timeout_secs(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        everyone_left_timeout_secs = _parse_everyone_left_timeout_secs(d.pop("everyoneLeftTimeoutSecs", UNSET))


        def _parse_max_duration_secs(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        max_duration_secs = _parse_max_duration_secs(d.pop("maxDurationSecs", UNSET))


        def _parse_noone_joined_timeout_secs(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        noone_joined_timeout_secs = _parse_noone_joined_timeout_secs(d.pop("nooneJoinedTimeoutSecs", UNSET))


        def _parse_waiting_room_timeout_secs(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        waiting_room_timeout_secs = _parse_waiting_room_timeout_secs(d.pop("waitingRoomTimeoutSecs", UNSET))


        automatic_leave_request = cls(
            everyone_left_timeout_secs=everyone_left_timeout_secs,
            max_duration_secs=max_duration_secs,
            noone_joined_timeout_secs=noone_joined_timeout_secs,
            waiting_room_timeout_secs=waiting_room_timeout_secs,
        )

        return automatic_leave_request

