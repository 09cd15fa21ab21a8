from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from dateutil.parser import isoparse
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.join_bucket import JoinBucket
  from ..models.latency_bucket import LatencyBucket
  from ..models.status_sample import StatusSample





T = TypeVar("T", bound="InfrastructureHistory")



@_attrs_define
class InfrastructureHistory:
    """ The last 24 h of the server, hour by hour (and every 15 minutes for the bot counts).

        Attributes:
            deploy_latency (list['LatencyBucket']): Deploy-call latency per hour, from the `deployed` events.
            joins (list['JoinBucket']): Join outcomes per hour: reached the call, or ended without ever getting in (not
                counting bots cancelled or told to leave before they joined).
            samples (list['StatusSample']): Live bots per status every 15 minutes (the queue length is `QUEUED`).
            since (datetime.datetime):
            until (datetime.datetime):
     """

    deploy_latency: list['LatencyBucket']
    joins: list['JoinBucket']
    samples: list['StatusSample']
    since: datetime.datetime
    until: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        from ..models.join_bucket import JoinBucket
        from ..models.latency_bucket import LatencyBucket
        from ..models.status_sample import StatusSample
        deploy_latency = []
        for deploy_latency_item_data in self.deploy_latency:
            deploy_latency_item = deploy_latency_item_data.to_dict()
            deploy_latency.append(deploy_latency_item)



        joins = []
        for joins_item_data in self.joins:
            joins_item = joins_item_data.to_dict()
            joins.append(joins_item)



        samples = []
        for samples_item_data in self.samples:
            samples_item = samples_item_data.to_dict()
            samples.append(samples_item)



        since = self.since.isoformat()

        until = self.until.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "deployLatency": deploy_latency,
            "joins": joins,
            "samples": samples,
            "since": since,
            "until": until,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.join_bucket import JoinBucket
        from ..models.latency_bucket import LatencyBucket
        from ..models.status_sample import StatusSample
        d = dict(src_dict)
        deploy_latency = []
        _deploy_latency = d.pop("deployLatency")
        for deploy_latency_item_data in (_deploy_latency):
            deploy_latency_item = LatencyBucket.from_dict(deploy_latency_item_data)



            deploy_latency.append(deploy_latency_item)


        joins = []
        _joins = d.pop("joins")
        for joins_item_data in (_joins):
            joins_item = JoinBucket.from_dict(joins_item_data)



            joins.append(joins_item)


        samples = []
        _samples = d.pop("samples")
        for samples_item_data in (_samples):
            samples_item = StatusSample.from_dict(samples_item_data)



            samples.append(samples_item)


        since = isoparse(d.pop("since"))




        until = isoparse(d.pop("until"))




        infrastructure_history = cls(
            deploy_latency=deploy_latency,
            joins=joins,
            samples=samples,
            since=since,
            until=until,
        )


        infrastructure_history.additional_properties = d
        return infrastructure_history

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
