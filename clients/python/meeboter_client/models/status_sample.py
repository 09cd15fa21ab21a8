from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from dateutil.parser import isoparse
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.status_sample_by_status import StatusSampleByStatus





T = TypeVar("T", bound="StatusSample")



@_attrs_define
class StatusSample:
    """ 
        Attributes:
            at (datetime.datetime):
            by_status (StatusSampleByStatus): Live bots per status (every status of [`LIVE_STATUSES`], zeros included).
     """

    at: datetime.datetime
    by_status: 'StatusSampleByStatus'
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        from ..models.status_sample_by_status import StatusSampleByStatus
        at = self.at.isoformat()

        by_status = self.by_status.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "at": at,
            "byStatus": by_status,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.status_sample_by_status import StatusSampleByStatus
        d = dict(src_dict)
        at = isoparse(d.pop("at"))




        by_status = StatusSampleByStatus.from_dict(d.pop("byStatus"))




        status_sample = cls(
            at=at,
            by_status=by_status,
        )


        status_sample.additional_properties = d
        return status_sample

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
