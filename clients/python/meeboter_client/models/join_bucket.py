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






T = TypeVar("T", bound="JoinBucket")



@_attrs_define
class JoinBucket:
    """ 
        Attributes:
            failed (int):
            joined (int):
            start (datetime.datetime):
            success_rate (Union[None, Unset, float]): `joined / (joined + failed)`; null in an hour without outcomes.
     """

    failed: int
    joined: int
    start: datetime.datetime
    success_rate: Union[None, Unset, float] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        failed = self.failed

        joined = self.joined

        start = self.start.isoformat()

        success_rate: Union[None, Unset, float]
        if isinstance(self.success_rate, Unset):
            success_rate = UNSET
        else:
            success_rate = self.success_rate


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "failed": failed,
            "joined": joined,
            "start": start,
        })
        if success_rate is not UNSET:
            field_dict["successRate"] = success_rate

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        failed = d.pop("failed")

        joined = d.pop("joined")

        start = isoparse(d.pop("start"))




        def _parse_success_rate(data: object) -> Union[None, Unset, float]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float], data)

        success_rate = _parse_success_rate(d.pop("successRate", UNSET))


        join_bucket = cls(
            failed=failed,
            joined=joined,
            start=start,
            success_rate=success_rate,
        )


        join_bucket.additional_properties = d
        return join_bucket

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
