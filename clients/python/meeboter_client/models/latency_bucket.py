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






T = TypeVar("T", bound="LatencyBucket")



@_attrs_define
class LatencyBucket:
    """ 
        Attributes:
            deployments (int):
            start (datetime.datetime): Start of the hour.
            max_ms (Union[None, Unset, int]):
            p_50_ms (Union[None, Unset, int]): Nearest-rank percentiles in milliseconds; null in an hour without
                deployments.
            p_95_ms (Union[None, Unset, int]):
     """

    deployments: int
    start: datetime.datetime
    max_ms: Union[None, Unset, int] = UNSET
    p_50_ms: Union[None, Unset, int] = UNSET
    p_95_ms: Union[None, Unset, int] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        deployments = self.deployments

        start = self.start.isoformat()

        max_ms: Union[None, Unset, int]
        if isinstance(self.max_ms, Unset):
            max_ms = UNSET
        else:
            max_ms = self.max_ms

        p_50_ms: Union[None, Unset, int]
        if isinstance(self.p_50_ms, Unset):
            p_50_ms = UNSET
        else:
            p_50_ms = self.p_50_ms

        p_95_ms: Union[None, Unset, int]
        if isinstance(self.p_95_ms, Unset):
            p_95_ms = UNSET
        else:
            p_95_ms = self.p_95_ms


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "deployments": deployments,
            "start": start,
        })
        if max_ms is not UNSET:
            field_dict["maxMs"] = max_ms
        if p_50_ms is not UNSET:
            field_dict["p50Ms"] = p_50_ms
        if p_95_ms is not UNSET:
            field_dict["p95Ms"] = p_95_ms

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        deployments = d.pop("deployments")

        start = isoparse(d.pop("start"))




        def _parse_max_ms(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        max_ms = _parse_max_ms(d.pop("maxMs", UNSET))


        def _parse_p_50_ms(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        p_50_ms = _parse_p_50_ms(d.pop("p50Ms", UNSET))


        def _parse_p_95_ms(data: object) -> Union[None, Unset, int]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, int], data)

        p_95_ms = _parse_p_95_ms(d.pop("p95Ms", UNSET))


        latency_bucket = cls(
            deployments=deployments,
            start=start,
            max_ms=max_ms,
            p_50_ms=p_50_ms,
            p_95_ms=p_95_ms,
        )


        latency_bucket.additional_properties = d
        return latency_bucket

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
