"""The risk and consent rubric: country tables, transfer classes, the rubric file and the two assessment grains.

Public API (see each module): ``model.assess_site_service``, ``model.assess_service``, ``model.load_context``,
``model.DISCLAIMER``, the input dataclasses ``model.SiteServiceObservation``, ``model.ObservedCookie``,
``transfer.HostLocation``; ``transfer.server_class`` / ``transfer.jurisdiction_class``; ``demo.warehouse_verdicts``;
``command.dpf`` / ``command.risk`` (click commands for ``pipelines/cli.py``).
"""
