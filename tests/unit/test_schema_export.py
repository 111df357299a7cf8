import json
from pathlib import Path

from paysim.schema_export import export
from paysim.topics import CATALOG


def test_export_writes_a_schema_per_family_and_an_asyncapi_document(tmp_path: Path) -> None:
    written = {p.name for p in export(tmp_path)}
    assert written == {
        "PaymentEvent.schema.json",
        "OrderEvent.schema.json",
        "DeliveryEvent.schema.json",
        "asyncapi.json",
    }
    payment = json.loads((tmp_path / "PaymentEvent.schema.json").read_text())
    assert {"eventId", "orderId", "amount", "amountMinor", "refundAmount"} <= set(
        payment["properties"]
    )
    assert payment["properties"]["amount"]["type"] == "number"
    doc = json.loads((tmp_path / "asyncapi.json").read_text())
    assert doc["asyncapi"].startswith("3.")
    assert set(doc["channels"]) == {t.name for t in CATALOG}
