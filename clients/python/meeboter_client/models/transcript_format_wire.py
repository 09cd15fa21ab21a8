from enum import Enum

class TranscriptFormatWire(str, Enum):
    JSON = "json"
    SRT = "srt"
    TXT = "txt"
    VTT = "vtt"

    def __str__(self) -> str:
        return str(self.value)
