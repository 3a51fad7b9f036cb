"""Analytics settings (``HUB_ANALYTICS_*``), beside the hub's own ``hub.config.Settings``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.config import Settings


class AnalyticsConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_ANALYTICS_", extra="ignore")

    group: str = Field(
        default="hub-analytics",
        description="faust app id: consumer group and prefix of the changelog topics.",
    )
    instance: str = Field(default="hub-analytics-0", description="Named in audit records.")
    threshold: int = Field(
        default=5, ge=2, description="Counts from 1 to threshold-1 are suppressed in the VRP feed."
    )
    area_level: Literal["district", "lsoa", "borough"] = Field(
        default="district", description="The area the VRP tables count by."
    )
    publish_every: float = Field(
        default=5.0, gt=0, description="Seconds between publications of changed VRP weeks."
    )
    vrp_recipient: str = "merseyside-vrp"
    log_level: str = Field(
        default="WARNING", description="Worker log level (DEBUG names event ids)."
    )
    feed_dir: Path | None = Field(
        default=None, description="CSV/JSON feed folder (default <data_dir>/analytics/vrp)."
    )
    rules_dir: Path | None = Field(
        default=None, description="Alert rules folder (default <partnership_dir>/alerts)."
    )

    def feed(self, settings: Settings) -> Path:
        return self.feed_dir or settings.data_dir / "analytics" / "vrp"

    def rules(self, settings: Settings) -> Path:
        return self.rules_dir or settings.partnership_dir / "alerts"


# Not "share.": share topics carry Avro disclosures under agreements, which recipient sinks
# decode; this feed carries anonymised JSON aggregates for the VRP's own readers.
VRP_TOPIC = "feed.{recipient}.violence-aggregates.v1"
OBSERVATIONS_TOPIC = "{group}.observations.v1"
