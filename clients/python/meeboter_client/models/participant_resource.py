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






T = TypeVar("T", bound="ParticipantResource")



@_attrs_define
class ParticipantResource:
    """ 
        Attributes:
            is_bot (bool):
            joined_at (datetime.datetime):
            name (str):
            participant_id (str):
            left_at (Union[None, Unset, datetime.datetime]): Null while the participant is in the meeting.
     """

    is_bot: bool
    joined_at: datetime.datetime
    name: str
    participant_id: str
    left_at: Union[None, Unset, datetime.datetime] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        is_bot = self.is_bot

        joined_at = self.joined_at.isoformat()

        name = self.name

        participant_id = self.participant_id

        left_at: Union[None, Unset, str]
        if isinstance(self.left_at, Unset):
            left_at = UNSET
        elif isinstance(self.left_at, datetime.datetime):
            left_at = self.left_at.isoformat()
        else:
            left_at = self.left_at


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "isBot": is_bot,
            "joinedAt": joined_at,
            "name": name,
            "participantId": participant_id,
        })
        if left_at is not UNSET:
            field_dict["leftAt"] = left_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        is_bot = d.pop("isBot")

        joined_at = isoparse(d.pop("joinedAt"))




        name = d.pop("name")

        participant_id = d.pop("participantId")

        def _parse_left_at(data: object) -> Union[None, Unset, datetime.datetime]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                left_at_type_0 = isoparse(data)



                return left_at_type_0
            except: # noqa: E722
                pass
            return cast(Union[None, Unset, datetime.datetime], data)

        left_at = _parse_left_at(d.pop("leftAt", UNSET))


        participant_resource = cls(
            is_bot=is_bot,
            joined_at=joined_at,
            name=name,
            participant_id=participant_id,
            left_at=left_at,
        )


        participant_resource.additional_properties = d
        return participant_resource

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
