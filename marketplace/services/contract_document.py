"""The contract document (合同) as a Word file: the named fields, the built-in default template, the check of an
uploaded template and the filling of one (DESIGN "After the award": the platform drafts the contract).

A template is a real .docx with docxtpl fields (`{{ owner_name }}`, …: Jinja inside Word runs), so admins edit it
in Word or WPS and upload it again; docxtpl (on python-docx) fills it. Uploaded templates are rendered in Jinja's
sandbox with autoescaping (a field's value never becomes XML), and may use only the fields of `FIELDS`.

The default is built here with python-docx, the same for every category (its title carries `category_name`);
its bytes are deterministic, so its sha256 identifies it in the audit log.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import datetime

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from docxtpl import DocxTemplate
from jinja2 import TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from app.errors import InputError
from app.i18n import gettext as _

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOCX_ONLY = {".docx": (DOCX_TYPE, (b"PK\x03\x04",))}
FIXED_TIME = datetime(2026, 1, 1)  # the default's document properties and zip entries: deterministic bytes


def _fields() -> tuple[tuple[str, Callable[[], str], str], ...]:
    """(name, description, sample value) of every field a template may use."""
    return (
        ("category_name", lambda: _("Service category (Chinese name)"), "环境影响评价"),
        ("category_code", lambda: _("Service category code"), "EIA"),
        ("job_no", lambda: _("Job number (选取公告编号)"), "ZJ2026000001"),
        ("job_title", lambda: _("Job title"), "环境影响评价服务"),
        ("project_name", lambda: _("Project name"), "城东道路改造"),
        ("project_code", lambda: _("Project code"), "XM-2026-001"),
        ("owner_name", lambda: _("Owner (委托方) name"), "某某市交通建设中心"),
        ("owner_credit_code", lambda: _("Owner's unified social credit code"), "12330100MB0000000X"),
        ("owner_address", lambda: _("Owner's address"), "某某市某某路1号"),
        ("owner_contact", lambda: _("Owner's contact person"), "张三"),
        ("owner_phone", lambda: _("Owner's phone"), "0571-00000000"),
        ("agency_name", lambda: _("Agency (受托方) name"), "某某环境咨询有限公司"),
        ("agency_credit_code", lambda: _("Agency's unified social credit code"), "91330100MA00000000"),
        ("agency_legal_rep", lambda: _("Agency's legal representative"), "李四"),
        ("agency_address", lambda: _("Agency's address"), "某某市某某路2号"),
        ("agency_contact", lambda: _("Agency's contact person"), "王五"),
        ("agency_phone", lambda: _("Agency's phone"), "0571-11111111"),
        ("amount", lambda: _("Contract amount = awarded price, in figures (123,456.78)"), "123,456.78"),
        ("amount_words", lambda: _("Contract amount in Chinese capital numerals (大写)"), "壹拾贰万叁仟肆佰伍拾陆元柒角捌分"),
        ("budget_cap", lambda: _("The job's budget cap, in figures"), "150,000.00"),
        ("service_days", lambda: _("Service days the agency promised"), "40"),
        ("selection_method", lambda: _("Selection method (Chinese)"), "随机选取"),
        ("seed_commitment", lambda: _("The draw's seed commitment (sha256)"), "0" * 64),
        ("selected_date", lambda: _("Date of the selection"), "2026年01月01日"),
        ("publicity_end_date", lambda: _("Date the publicity period ended"), "2026年01月04日"),
        ("draw_record_url", lambda: _("Address of the public draw record"), "https://example.org/api/jobs/ZJ/draw"),
        ("draft_date", lambda: _("Date the draft was made"), "2026年01月05日"),
    )


FIELD_NAMES = frozenset(name for name, _desc, _sample in _fields())


def field_docs() -> list[tuple[str, str]]:
    """(field name, what it holds) in the request's language, for the admin page."""
    return [(name, desc()) for name, desc, _sample in _fields()]


def sample_context() -> dict[str, str]:
    return {name: sample for name, _desc, sample in _fields()}


# ---- the default template -----------------------------------------------------------------------

CLAUSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("第一条 项目概况", (
        "项目名称：{{ project_name }}",
        "项目代码：{{ project_code }}",
        "服务事项：{{ job_title }}",
        "选取公告编号：{{ job_no }}",
    )),
    ("第二条 服务内容", (
        ("乙方为本项目提供{{ category_name }}（{{ category_code }}）中介服务。服务的具体内容与要求以选取公告、"
        "其附件及乙方的报价承诺为准；乙方的服务成果应符合国家和行业现行的标准、规范，并满足相关审批部门的要求。"),
    )),
    ("第三条 服务期限", (
        "乙方承诺的服务时限为{{ service_days }}个日历日，自甲乙双方在平台上确认本合同之日起计算。",
        ("因甲方原因（如甲方应提供的资料未到位）需要暂停计时的，由甲方在平台上暂停并说明理由，暂停期间不计入服务期限；"
        "乙方需要延长服务期限的，应在平台上提出延期申请并说明理由，经甲方同意后顺延。"),
    )),
    ("第四条 合同金额", (
        ("本合同金额为选取成交价：人民币（大写）{{ amount_words }}（¥{{ amount }}元），不超过本项目的最高限价"
        "（¥{{ budget_cap }}元）。"),
        ("合同金额为包干价，包含乙方完成本合同约定服务所需的全部费用（含人工、差旅、检测、资料、税费等），"
        "合同履行期间不作调整，本合同另有约定的除外。"),
    )),
    ("第五条 付款方式", (
        ("服务成果经甲方确认（或按第六条视为确认）后三十日内，甲方向乙方一次性支付合同金额。"
        "乙方应在甲方付款前开具合法有效的发票。"),
        "双方另行约定的付款节点：________________________________________。",
    )),
    ("第六条 成果提交与验收", (
        ("乙方应在服务期限内通过平台提交服务成果文件。甲方应自收到成果之日起十个工作日内在平台上确认，或说明理由退回；"
        "逾期未答复的，视为确认。成果被退回的，乙方应按退回理由修改后重新提交。"),
    )),
    ("第七条 双方的权利和义务", (
        "（一）甲方应及时、真实、完整地提供开展服务所需的资料和工作条件，配合乙方工作，并按约定支付合同金额。",
        ("（二）乙方应按照法律法规、标准规范和本合同约定独立、客观、公正地开展服务，对其服务成果的真实性、"
        "准确性负责；不得转包或违法分包；对在服务中知悉的甲方商业秘密和未公开信息负有保密义务。"),
    )),
    ("第八条 违约责任", (
        ("（一）乙方逾期提交成果的（暂停计时期间和经甲方同意的延期不计），每逾期一日，按合同金额的千分之一向甲方支付"
        "违约金，累计不超过合同金额的百分之十；逾期超过三十日的，甲方有权解除本合同。"),
        "（二）乙方的成果不符合本合同约定或标准规范的，应无偿修改完善；给甲方造成损失的，依法承担赔偿责任。",
        "（三）甲方无正当理由逾期付款的，每逾期一日，按未付金额的万分之五向乙方支付违约金。",
        "（四）双方的履约情况记入平台的履约和信用记录。",
    )),
    ("第九条 争议解决", (
        "因本合同发生的争议，双方应协商解决；协商不成的，任何一方均可向甲方所在地有管辖权的人民法院提起诉讼。",
    )),
    ("第十条 选取记录", (
        ("本合同依据网上中介服务超市的选取结果订立：选取方式为{{ selection_method }}，选取公告编号为{{ job_no }}，"
        "选取日期为{{ selected_date }}，结果公示期于{{ publicity_end_date }}届满。"),
        "抽取的种子承诺（seed commitment）：{{ seed_commitment }}；选取记录可在 {{ draw_record_url }} 公开查验。",
    )),
    ("第十一条 其他", (
        ("本合同自甲乙双方法定代表人或授权代表签字并加盖公章，且双方在平台上确认之日起生效。"
        "本合同一式肆份，甲乙双方各执贰份，具有同等法律效力。签署后的合同扫描件（PDF）由甲方上传至平台。"),
        "本合同未尽事宜，双方可另行签订补充协议，补充协议与本合同具有同等法律效力。",
    )),
)

PARTIES = (
    ("委托方（甲方）：{{ owner_name }}", (
        "统一社会信用代码：{{ owner_credit_code }}",
        "地址：{{ owner_address }}",
        "联系人：{{ owner_contact }}　　电话：{{ owner_phone }}",
    )),
    ("受托方（乙方）：{{ agency_name }}", (
        "统一社会信用代码：{{ agency_credit_code }}",
        "法定代表人：{{ agency_legal_rep }}",
        "地址：{{ agency_address }}",
        "联系人：{{ agency_contact }}　　电话：{{ agency_phone }}",
    )),
)


def _set_fonts(doc) -> None:
    """SimSun (宋体) for Chinese and Latin text alike, 12 pt; the heading styles follow."""
    for name, size in (("Normal", 12), ("Title", 18), ("Heading 2", 12)):
        style = doc.styles[name]
        style.font.name = "SimSun"
        style.font.size = Pt(size)
        rpr = style.element.get_or_add_rPr()
        rpr.get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")


def _deterministic(data: bytes) -> bytes:
    """The same .docx with fixed zip entry times, so one default always has one sha256."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def default_template() -> bytes:
    """The built-in Chinese service contract (中介服务合同) with docxtpl fields, for any category."""
    doc = Document()
    _set_fonts(doc)
    props = doc.core_properties
    props.title, props.author, props.comments = "中介服务合同", "网上中介服务超市", "docxtpl template"
    props.created = props.modified = FIXED_TIME
    props.last_modified_by, props.revision = "", 1
    title = doc.add_paragraph("{{ category_name }}中介服务合同", style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    ref = doc.add_paragraph("选取公告编号：{{ job_no }}")
    ref.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for head, lines in PARTIES:
        doc.add_paragraph().add_run(head).bold = True
        for line in lines:
            doc.add_paragraph(line)
    doc.add_paragraph(
        "根据《中华人民共和国民法典》及有关法律法规，甲方通过网上中介服务超市以{{ selection_method }}方式选取乙方"
        "承担本项目的{{ category_name }}中介服务。经双方协商一致，订立本合同，共同遵守。")
    for head, paragraphs in CLAUSES:
        doc.add_paragraph(head, style="Heading 2")
        for text in paragraphs:
            doc.add_paragraph(text)
    doc.add_paragraph("（以下无正文）")
    table = doc.add_table(rows=4, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    rows = (("甲方（盖章）：{{ owner_name }}", "乙方（盖章）：{{ agency_name }}"),
            ("法定代表人或授权代表（签字）：", "法定代表人或授权代表（签字）："),
            ("", ""),
            ("签订日期：　　　　年　　月　　日", "签订日期：　　　　年　　月　　日"))
    for r, (left, right) in enumerate(rows):
        table.cell(r, 0).text, table.cell(r, 1).text = left, right
    note = doc.add_paragraph("本合同草稿由网上中介服务超市于{{ draft_date }}根据选取结果生成，签订前双方可协商修改空白处。")
    note.runs[0].font.size = Pt(9)
    buf = io.BytesIO()
    doc.save(buf)
    return _deterministic(buf.getvalue())


# ---- checking and filling -----------------------------------------------------------------------

def _env() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True)


def _open(data: bytes) -> DocxTemplate:
    try:
        return DocxTemplate(io.BytesIO(data))
    except Exception:  # noqa: BLE001 (python-docx raises many kinds for a broken package)
        msg = _("The file is not a Word document (.docx) that can be opened.")
        raise InputError(msg, fields={"file": msg}) from None


def _bad(msg: str) -> InputError:
    return InputError(msg, fields={"file": msg})


def render(data: bytes, context: dict[str, str]) -> bytes:
    """The template `data` filled with `context` (sandboxed, autoescaped); a 400 naming the problem."""
    tpl = _open(data)
    try:
        tpl.render(context, jinja_env=_env(), autoescape=True)
    except TemplateSyntaxError as exc:
        raise _bad(_("The template has a syntax error: {problem}", problem=exc.message or str(exc))) from None
    except TemplateError as exc:
        raise _bad(_("The template cannot be filled: {problem}", problem=str(exc))) from None
    except Exception as exc:  # noqa: BLE001 (docxtpl's XML fix-ups fail in many ways on odd files)
        raise _bad(_("The template cannot be filled: {problem}", problem=type(exc).__name__)) from None
    out = io.BytesIO()
    tpl.save(out)
    return out.getvalue()


def check_template(data: bytes) -> None:
    """An uploaded template must open as a .docx, parse, use only the documented fields and fill with sample
    values; otherwise a 400 whose message names the problem."""
    tpl = _open(data)
    try:
        used = tpl.get_undeclared_template_variables(jinja_env=_env())
    except TemplateSyntaxError as exc:
        raise _bad(_("The template has a syntax error: {problem}", problem=exc.message or str(exc))) from None
    except Exception:  # noqa: BLE001
        raise _bad(_("The file is not a Word document (.docx) that can be opened.")) from None
    unknown = sorted(used - FIELD_NAMES)
    if unknown:
        raise _bad(_("The template uses unknown fields: {fields}. Use only the fields listed on this page.",
                     fields=", ".join(unknown)))
    render(data, sample_context())
