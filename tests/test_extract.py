"""Parsing of numbers, dates, addressee lists and the text-layer verdict."""
import pytest

from pipeline.lexicon import cn_number, event_dates, parse_date, short_year_date
from pipeline.models import Block, IssueMeta, Role
from pipeline.structure.extract import _footer, extract_meta, split_units
from pipeline.read.ingest import natural_key, text_layer_verdict


@pytest.mark.parametrize("s,n", [("12", 12), ("十二", 12), ("十", 10), ("二十三", 23), ("一〇三", 103),
                                 ("一百零三", 103), ("七", 7), ("二〇二三", 2023)])
def test_cn_number(s, n):
    assert cn_number(s) == n


@pytest.mark.parametrize("s,iso", [("二〇二三年三月十五日", "2023-03-15"), ("2021 年 5 月 28 日", "2021-05-28"),
                                   ("溪城市生态环境局2023年8月23日印发", "2023-08-23"),
                                   ("二〇二三年十二月三十一日", "2023-12-31"), ("2021年2月30日", None)])
def test_parse_date(s, iso):
    assert parse_date(s) == iso


def test_short_year_date_needs_a_matching_year_from_elsewhere():
    # 二〇二二 read 二二 (〇 lost, 二 merged), 二〇二四 read 二四, 二〇二三 read 二二三
    assert short_year_date("二二年九月六日", [2022]) == "2022-09-06"
    assert short_year_date("二四年一月八日", [None, 2024]) == "2024-01-08"
    assert short_year_date("二二三年三月十五日", [2023]) == "2023-03-15"
    assert short_year_date("二四年一月八日", [2023, None]) is None        # no year it could be
    assert short_year_date("2022年9月6日", [2022]) is None                # not cut short
    # 〇 read as 二: the year 2222 is no date, the shape of 2022 is
    assert parse_date("二二二二年九月六日") is None
    assert short_year_date("二二二二年九月六日", [2022]) == "2022-09-06"
    assert short_year_date("三〇二二年九月六日", [2022]) == "2022-09-06"      # one numeral misread
    assert short_year_date("三〇三二年九月六日", [2022]) is None              # two: not this year


def test_event_dates_ranges_and_vague_dates():
    assert event_dates("5月17日至19日，赴巴中开展培训。", "2021-05-28") == ["2021-05-17", "2021-05-19"]
    assert event_dates("4月26日至27日，调研。5月8日，召开会议。", "2021-05-28") == [
        "2021-04-26", "2021-04-27", "2021-05-08"]
    assert event_dates("近日，召开会议。日前，印发通知。", "2021-05-28") == []
    # a December event reported in a January issue belongs to the year before
    assert event_dates("12月30日，召开总结会。", "2022-01-10") == ["2021-12-30"]
    # dates inside a document title are not events
    assert event_dates("印发《关于2023年5月1日起施行的通知》。", "2023-05-10") == []


def test_split_units_keeps_brackets():
    assert split_units("局领导，机关各处（室）、局属各单位。") == ["局领导", "机关各处（室）", "局属各单位"]
    assert split_units("各县（市、区）发展和改革局；省直各部门") == ["各县（市、区）发展和改革局", "省直各部门"]
    # a label's colon that OCR put at the end of a list (报：... read as ...市教育局：。)
    assert split_units("县委办公室，市教育局：。") == ["县委办公室", "市教育局"]
    assert split_units("：县委办公室，：") == ["县委办公室"]


def test_split_units_mends_ge_read_as_bei_or_ming():
    # 各 at the head of an addressee, read 备 or 名 by OCR; words that do begin with them stay
    assert split_units("备县（市、区）发展改革局，机关备科（室），局属名单位，局机关名股室") == [
        "各县（市、区）发展改革局", "机关各科（室）", "局属各单位", "局机关各股室"]
    assert split_units("名誉会长，备案单位") == ["名誉会长", "备案单位"]
    # and other slips of OCR no addressee holds: 客 for 各, 太 for 大, 《 for （, a trailing speck
    assert split_units("局属客单位，县人太常委会办公室，各县《市、区）人民政府，机关各科（室）.") == [
        "局属各单位", "县人大常委会办公室", "各县（市、区）人民政府", "机关各科（室）"]
    assert split_units("市委办公室，.市政府办公室，各区（县）.机关事务管理部门") == [
        "市委办公室", "市政府办公室", "各区（县）机关事务管理部门"]


def test_footer_copies_joined_to_the_printed_line():
    meta = IssueMeta()
    printed_by = _footer(meta, [Block(Role.FOOTER, [], "抄送：市委办公室，市政府办公室。"),
                                Block(Role.FOOTER, [], "江北市发展改革委办公室 2023年3月16日印发（共印30份）.")])
    assert (meta.copies, meta.printed_date, printed_by) == (30, "2023-03-16", "江北市发展改革委办公室")
    assert meta.cc == ["市委办公室", "市政府办公室"]


def test_year_of_a_document_without_a_readable_date_from_its_doc_no():
    meta = extract_meta([Block(Role.MASTHEAD, [], "江北市人民政府办公室文件"),
                         Block(Role.DOC_NO, [], "江政办发【〔2024〕3号"),
                         Block(Role.BODY, [], "二四年一月八日")])
    assert (meta.doc_no, meta.year, meta.date) == ("江政办发〔2024〕3号", 2024, None)
    assert extract_meta([Block(Role.DOC_NO, [], "江发改财〔2023}15号")]).doc_no == "江发改财〔2023〕15号"


def test_split_units_at_spaces_between_whole_unit_names():
    assert split_units("省委办公厅 省人大常委会办公厅  省政府办公厅") == ["省委办公厅", "省人大常委会办公厅", "省政府办公厅"]
    assert split_units("市教育局 县委办公室，县政协办公室") == ["市教育局", "县委办公室", "县政协办公室"]
    # a space inside one name (letter-spaced, or put there by OCR) is no separator
    assert split_units("县委 办公室，县人民政府 办公室") == ["县委办公室", "县人民政府办公室"]
    assert split_units("各县（市、 区）发展和改革局") == ["各县（市、区）发展和改革局"]
    assert split_units("市生态环境保护 委员会各成员单位") == ["市生态环境保护委员会各成员单位"]


def test_text_layer_verdict():
    assert text_layer_verdict("四川省机关事务管理局简报 2021 年第 4 期")[0]
    ok, why = text_layer_verdict("")
    assert not ok and "no text layer" in why
    ok, why = text_layer_verdict("(cid:123)(cid:456)(cid:789) 四川")
    assert not ok and "unmapped" in why
    ok, why = text_layer_verdict("\ue001\ue002\ue003\ue004 abc")
    assert not ok


def test_natural_order():
    names = ["page-10.jpg", "page-2.jpg", "page-1.jpg"]
    assert sorted(names, key=natural_key) == ["page-1.jpg", "page-2.jpg", "page-10.jpg"]
