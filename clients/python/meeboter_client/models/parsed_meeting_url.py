from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.platform_wire import PlatformWire






T = TypeVar("T", bound="ParsedMeetingUrl")



@_attrs_define
class ParsedMeetingUrl:
    """ What a meeting link points at.

        Attributes:
            meeting_id (str):
            normalized_url (str): The link a bot would open.
            platform (PlatformWire): Meeting platform.
     """

    meeting_id: str
    normalized_url: str
    platform: PlatformWire
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        meeting_id = self.meeting_id

        normalized_url = self.normalized_url

        platform = self.platform.value


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "meetingId": meeting_id,
            "normalizedUrl": normalized_url,
            "platform": platform,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        meeting_id = d.pop("meetingId")

        normalized_url = d.pop("normalizedUrl")

        platform = PlatformWire(d.pop("platform"))




        parsed_meeting_url = cls(
            meeting_id=meeting_id,
            normalized_url=normalized_url,
            platform=platform,
        )


        parsed_meeting_url.additional_properties = d
        return parsed_meeting_url

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
