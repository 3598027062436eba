"""Small value types shared by several domains."""

import strawberry


@strawberry.type(description="A point on Earth (WGS 84).")
class Location:
    latitude: float = strawberry.field(description="Degrees north, −90 to 90.")
    longitude: float = strawberry.field(description="Degrees east, −180 to 180.")


def location(latitude: float | None, longitude: float | None) -> Location | None:
    if latitude is None or longitude is None:
        return None
    return Location(latitude=latitude, longitude=longitude)


@strawberry.input(description="A circle on Earth: a centre and a radius.")
class NearInput:
    latitude: float = strawberry.field(description="Centre, degrees north.")
    longitude: float = strawberry.field(description="Centre, degrees east.")
    radius_km: float = strawberry.field(description="Radius in kilometres (0–20000).")
