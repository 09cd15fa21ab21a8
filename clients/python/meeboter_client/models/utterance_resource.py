from collections.abc import Mapping
from typing import Any, TypeVar, Optional, BinaryIO, TextIO, TYPE_CHECKING

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast, Union
from typing import Union






T = TypeVar("T", bound="UtteranceResource")



@_attrs_define
class UtteranceResource:
    """ One utterance. Times are milliseconds from the bot's `IN_CALL` (the recording's 0).

        Attributes:
            end_ms (int):
            id (str):
            is_final (bool): False while a caption line is still growing.
            source (str): `meeting_captions`, `openai` or `deepgram`.
            start_ms (int):
            text (str):
            caption_id (Union[None, Unset, str]): The caption line's id (captions only).
            participant_id (Union[None, Unset, str]):
            speaker (Union[None, Unset, str]): Display name of who spoke; null when unknown.
     """

    end_ms: int
    id: str
    is_final: bool
    source: str
    start_ms: int
    text: str
    caption_id: Union[None, Unset, str] = UNSET
    participant_id: Union[None, Unset, str] = UNSET
    speaker: Union[None, Unset, str] = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)


    def to_dict(self) -> dict[str, Any]:
        end_ms = self.end_ms

        id = self.id

        is_final = self.is_final

        source = self.source

        start_ms = self.start_ms

        text = self.text

        caption_id: Union[None, Unset, str]
        if isinstance(self.caption_id, Unset):
            caption_id = UNSET
        else:
            caption_id = self.caption_id

        participant_id: Union[None, Unset, str]
        if isinstance(self.participant_id, Unset):
            participant_id = UNSET
        else:
            participant_id = self.participant_id

        speaker: Union[None, Unset, str]
        if isinstance(self.speaker, Unset):
            speaker = UNSET
        else:
            speaker = self.speaker


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "endMs": end_ms,
            "id": id,
            "isFinal": is_final,
            "source": source,
            "startMs": start_ms,
            "text": text,
        })
        if caption_id is not UNSET:
            field_dict["captionId"] = caption_id
        if participant_id is not UNSET:
            field_dict["participantId"] = participant_id
        if speaker is not UNSET:
            field_dict["speaker"] = speaker

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        end_ms = d.pop("endMs")

        id = d.pop("id")

        is_final = d.pop("isFinal")

        source = d.pop("source")

        start_ms = d.pop("startMs")

        text = d.pop("text")

        def _parse_caption_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        caption_id = _parse_caption_id(d.pop("captionId", UNSET))


        def _parse_participant_id(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        participant_id = _parse_participant_id(d.pop("participantId", UNSET))


        def _parse_speaker(data: object) -> Union[None, Unset, str]:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(Union[None, Unset, str], data)

        speaker = _parse_speaker(d.pop("speaker", UNSET))


        utterance_resource = cls(
            end_ms=end_ms,
            id=id,
            is_final=is_final,
            source=source,
            start_ms=start_ms,
            text=text,
            caption_id=caption_id,
            participant_id=participant_id,
            speaker=speaker,
        )


        utterance_resource.additional_properties = d
        return utterance_resource

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
