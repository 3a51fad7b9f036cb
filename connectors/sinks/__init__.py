"""Sink connectors: write a recipient's stream into the recipient's own system.

Each writer here (``sql_upsert.SqlUpsertWriter``, ``file_export.FileExportWriter``...) is
driven by ``connectors.base.sink.SinkRunner``, the consume-write-receipt-commit loop.
"""

__all__: list[str] = []
