"""The one authorization layer: who may see and do what, decided for every transport."""

from makesense_api.authz.policy import Authorizer, Permission
from makesense_api.authz.principal import Principal, Scope

__all__ = ["Authorizer", "Permission", "Principal", "Scope"]
