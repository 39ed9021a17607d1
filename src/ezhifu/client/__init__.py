"""ezhifu.client: talking to a 电子凭证库 over the network (spec.md §6).

* :mod:`~ezhifu.client.operations`: the one table of the 凭证库 operations (names, parameters,
  types, returns), used by the client, the service and its WSDL;
* :mod:`~ezhifu.client.soapenc`: SOAP 1.1 rpc/encoded messages as Axis 1.x writes them;
* :mod:`~ezhifu.client.soap_client`: :class:`VoucherServiceClient` for a real 凭证库 or
  ``ezhifu serve``;
* :mod:`~ezhifu.client.transport`: :class:`HttpTransport`, library-to-library delivery over HTTP.

See docs/service.md.
"""

from __future__ import annotations

__all__: list[str] = []
