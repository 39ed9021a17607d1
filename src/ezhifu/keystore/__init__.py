"""ezhifu.keystore: the safe box's key and seal storage behind one interface.

Backends (registered in the ``ezhifu.keystores`` entry-point group): ``memory``
(:class:`~ezhifu.keystore.memory.MemoryKeyStore`), ``file``
(:class:`~ezhifu.keystore.encrypted_file.EncryptedFileKeyStore`), ``pkcs12``
(:class:`~ezhifu.keystore.pkcs12.PKCS12KeyStore`) and ``pkcs11``
(:class:`~ezhifu.keystore.pkcs11.PKCS11KeyStore`, needs the ``pkcs11`` extra). Pick one with
:func:`open_keystore` from a mapping or a TOML file read by :func:`load_config`.
"""

from __future__ import annotations

from ezhifu._lazy import TYPE_CHECKING, lazy_exports

_EXPORTS = """
    ezhifu.keystore.base: ENTRY_POINT_GROUP KeyEntry KeyStore available_backends load_config open_keystore
"""

if TYPE_CHECKING:
    from ezhifu.keystore.base import ENTRY_POINT_GROUP as ENTRY_POINT_GROUP
    from ezhifu.keystore.base import KeyEntry as KeyEntry
    from ezhifu.keystore.base import KeyStore as KeyStore
    from ezhifu.keystore.base import available_backends as available_backends
    from ezhifu.keystore.base import load_config as load_config
    from ezhifu.keystore.base import open_keystore as open_keystore

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
