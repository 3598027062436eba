"""What every service call receives: the request's session, its authorizer and languages."""

from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.policy import Authorizer
from makesense_api.authz.principal import Principal


@dataclass
class Ctx:
    """One caller in one transaction. Services take it first: `service.verb(ctx, ...)`."""

    session: AsyncSession
    authz: Authorizer
    languages: tuple[str, ...] = field(default_factory=tuple)

    @property
    def principal(self) -> Principal:
        return self.authz.principal

    @classmethod
    def of(
        cls, session: AsyncSession, principal: Principal, languages: tuple[str, ...] = ()
    ) -> "Ctx":
        return cls(session, Authorizer(session, principal), languages)
