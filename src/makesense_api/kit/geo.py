"""Distance filters that need only arithmetic, so they run (and use indexes) on any database."""

import math
from typing import Any

import sqlalchemy as sa

KM_PER_DEGREE = 111.32


def near_clause(
    lat_col: Any,
    lon_col: Any,
    lat: float,
    lon: float,
    km: float,
) -> sa.ColumnElement[bool]:
    """Rows within `km` of (lat, lon): an indexable bounding box, then an equirectangular
    distance test (within 0.5 % of the great-circle distance below a few hundred km)."""
    dlat = km / KM_PER_DEGREE
    cos_lat = max(math.cos(math.radians(lat)), 0.01)
    dlon = min(km / (KM_PER_DEGREE * cos_lat), 360.0)
    dx = (lon_col - lon) * cos_lat
    dy = lat_col - lat
    return sa.and_(
        lat_col.between(lat - dlat, lat + dlat),
        lon_col.between(lon - dlon, lon + dlon),
        dx * dx + dy * dy <= dlat * dlat,
    )


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) for ranking and explanations."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))
