from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from dateutil.parser import isoparse
from typing import cast
import datetime






T = TypeVar("T", bound="LogArchive")



@_attrs_define
class LogArchive:
    """ 
        Attributes:
            archived_at (datetime.datetime):
            expires_at (datetime.datetime):
            url (str): Gzipped JSON lines: `{"at", "level", "message", "source"}`.
     """

    archived_at: datetime.datetime
    expires_at: datetime.datetime
    url: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        archived_at = self.archived_at.isoformat()

        expires_at = self.expires_at.isoformat()

        url = self.url


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "archivedAt": archived_at,
            "expiresAt": expires_at,
            "url": url,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        archived_at = isoparse(d.pop("archivedAt"))




        expires_at = isoparse(d.pop("expiresAt"))




        url = d.pop("url")

        log_archive = cls(
            archived_at=archived_at,
            expires_at=expires_at,
            url=url,
        )


        log_archive.additional_properties = d
        return log_archive

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
