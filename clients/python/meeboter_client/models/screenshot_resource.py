from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from dateutil.parser import isoparse
from typing import cast
import datetime






T = TypeVar("T", bound="ScreenshotResource")



@_attrs_define
class ScreenshotResource:
    """ A screenshot stored for the bot.

        Attributes:
            content_type (str):
            expires_at (datetime.datetime):
            id (str):
            kind (str):
            size_bytes (int):
            taken_at (datetime.datetime):
            url (str): Download URL; expires at `expiresAt`.
     """

    content_type: str
    expires_at: datetime.datetime
    id: str
    kind: str
    size_bytes: int
    taken_at: datetime.datetime
    url: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        content_type = self.content_type

        expires_at = self.expires_at.isoformat()

        id = self.id

        kind = self.kind

        size_bytes = self.size_bytes

        taken_at = self.taken_at.isoformat()

        url = self.url


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "contentType": content_type,
            "expiresAt": expires_at,
            "id": id,
            "kind": kind,
            "sizeBytes": size_bytes,
            "takenAt": taken_at,
            "url": url,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        content_type = d.pop("contentType")

        expires_at = isoparse(d.pop("expiresAt"))




        id = d.pop("id")

        kind = d.pop("kind")

        size_bytes = d.pop("sizeBytes")

        taken_at = isoparse(d.pop("takenAt"))




        url = d.pop("url")

        screenshot_resource = cls(
            content_type=content_type,
            expires_at=expires_at,
            id=id,
            kind=kind,
            size_bytes=size_bytes,
            taken_at=taken_at,
            url=url,
        )


        screenshot_resource.additional_properties = d
        return screenshot_resource

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
