"""The contract document: the default template uses every documented field and fills them all; uploaded
templates are checked (syntax, unknown fields, not a docx) with the problem named (messages in zh-CN, the default)."""

import io
import re
import zipfile

import pytest
from docx import Document

from app.errors import InputError
from marketplace.services import contract_document as cd


def text_of(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def docx_with(text: str) -> bytes:
    doc = Document()
    doc.add_paragraph(text)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def test_the_default_uses_every_field_and_fills_them_all():
    data = cd.default_template()
    assert data.startswith(b"PK\x03\x04") and data == cd.default_template()  # deterministic: one sha256
    raw = text_of(data)
    assert set(re.findall(r"\{\{ (\w+) \}\}", raw)) == cd.FIELD_NAMES
    context = {name: f"<{name}&>" for name in cd.FIELD_NAMES}  # autoescaped: still valid XML
    filled = text_of(cd.render(data, context))
    assert "{{" not in filled and "}}" not in filled
    for name in cd.FIELD_NAMES:
        assert f"<{name}&>" in filled, name
    assert filled.startswith("<category_name&>中介服务合同")
    for clause in ("委托方（甲方）", "受托方（乙方）", "第四条 合同金额", "第五条 付款方式", "第六条 成果提交与验收",
                   "第八条 违约责任", "签订日期"):
        assert clause in filled


def test_field_docs_name_every_field():
    assert {name for name, _desc in cd.field_docs()} == cd.FIELD_NAMES
    assert all(desc for _name, desc in cd.field_docs())


def test_a_good_custom_template_passes():
    cd.check_template(docx_with("甲方：{{ owner_name }} {% if amount %}金额：{{ amount_words }}{% endif %}"))


@pytest.mark.parametrize("text, problem", [
    ("{{ owner_name ", "语法错误"),
    ("{% if amount %}no end", "语法错误"),
    ("{{ owner_name }} {{ ownr_nmae }} {{ secret }}", "未知字段：ownr_nmae, secret"),
    ("{{ owner_name.__class__.__mro__ }}", "无法填充"),
])
def test_bad_templates_are_refused_with_the_problem(text, problem):
    with pytest.raises(InputError) as e:
        cd.check_template(docx_with(text))
    assert problem in e.value.message and e.value.fields["file"] == e.value.message


def test_not_a_docx():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hi")
    for data in (buf.getvalue(), b"PK\x03\x04garbage"):
        with pytest.raises(InputError) as e:
            cd.check_template(data)
        assert "不是可以打开的 Word 文档" in e.value.message
