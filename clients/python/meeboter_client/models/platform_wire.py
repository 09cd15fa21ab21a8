from enum import Enum

class PlatformWire(str, Enum):
    GOOGLE_MEET = "google_meet"
    MICROSOFT_TEAMS = "microsoft_teams"
    ZOOM = "zoom"

    def __str__(self) -> str:
        return str(self.value)
