from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from typing import cast, Union
from typing import Union

if TYPE_CHECKING:
  from ..models.utterance_resource import UtteranceResource





T = TypeVar("T", bound="TranscriptResource")



@_attrs_define
class TranscriptResource:
    """ A bot's transcript.

        Attributes:
            state (str): `none` (no transcript, or nothing yet), `live` (captions arriving), `processing`
                (an audio provider is working after the call), `ready` or `failed`.
            utterances (list['UtteranceResource']):
            attributed_share (Union[None, Unset, float]): Share (0–1) of words given a speaker by the active-speaker
                timeline (audio providers).
            error (Union[None, Unset, str]): Why it failed, or a note (e.g. captions were unavailable).
            next_cursor (Union[None, Unset, str]): Pass as `cursor` for the next page; null on the last page.
            provider (Union[None, Unset, str]): The requested provider; null when the bot makes no transcript.
            source (Union[None, Unset, str]): Where the utterances come from (differs from `provider` after a fallback).
     """

    state: str
    utterances: list['UtteranceResource']
    attributed_share: Union[None, Unset, float] = UNSET
    error: Union[None, Unset, str] = UNSET
    next_cursor: Union[None, Unset, str] = UNSET
    provider: Union[None, Unset, str] = UNSET
    source: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        from ..models.utterance_resource import UtteranceResource
        state = self.state

        utterances = []
        for utterances_item_data in self.utterances:
            utterances_item = utterances_item_data.to_dict()
            utterances.append(utterances_item)



        attributed_share: Union[None, Unset, float]
        if isinstance(self.attributed_share, Unset):
            attributed_share = UNSET
        else:
            attributed_share = self.attributed_share

        error: Union[None, Unset, str]
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        next_cursor: Union[None, Unset, str]
        if isinstance(self.next_cursor, Unset):
            next_cursor = UNSET
        else:
            next_cursor = self.next_cursor

        provider: Union[None, Unset, str]
        if isinstance(self.provider, Unset):
            provider = UNSET
        else:
            provider = self.provider

        source: Union[None, Unset, str]
        if isinstance(self.source, Unset):
            source = UNSET
        else:
            source = self.source


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "state": state,
            "utterances": utterances,
        })
        if attributed_share is not UNSET:
            field_dict["attributedShare"] = attributed_share
        if error is not UNSET:
            field_dict["error"] = error
        if next_cursor is not UNSET:
            field_dict["nextCursor"] = next_cursor
        if provider is not UNSET:
            field_dict["provider"] = provider
        if source is not UNSET:
            field_dict["source"] = source

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.utterance_resource import UtteranceResource
        d = dict(src_dict)
        state = d.pop("state")

        utterances = []
        _utterances = d.pop("utterances")
        for utterances_item_data in (_utterances):
            utterances_item = UtteranceResource.from_dict(utterances_item_data)



            utterances.append(utterances_item)


        def _parse_attributed_share(data: object) -> Union[None, Unset, float]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, float], data)

        attributed_share = _parse_attributed_share(d.pop("attributedShare", UNSET))


        def _parse_error(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        error = _parse_error(d.pop("error", UNSET))


        def _parse_next_cursor(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        next_cursor = _parse_next_cursor(d.pop("nextCursor", UNSET))


        def _parse_provider(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        provider = _parse_provider(d.pop("provider", UNSET))


        def _parse_source(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        source = _parse_source(d.pop("source", UNSET))


        transcript_resource = cls(
            state=state,
            utterances=utterances,
            attributed_share=attributed_share,
            error=error,
            next_cursor=next_cursor,
            provider=provider,
            source=source,
        )


        transcript_resource.additional_properties = d
        return transcript_resource

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
