"""Layout, segment and extract on synthetic pages: conventions the samples do not print.

Lines are placed the way a text layer or an OCR engine reports them (boxes in
points on an A4 page with a 79–527 pt text block), so these tests exercise the
geometry rules directly.
"""
from pipeline.structure.extract import extract
import copy
import pytest

from pipeline.structure.layout import analyse, layout
from pipeline.models import Line, Page, Role
from pipeline.structure.segment import segment

LEFT, RIGHT, BODY = 79.0, 527.0, 16.0


class PageBuilder:
    def __init__(self, page_no=1):
        self.page = Page(page_no=page_no, width=595.0, height=842.0)
        self.y = 80.0

    def _add(self, text, x0, x1, size, **kw):
        self.page.lines.append(Line(text=text, box=(x0, self.y, x1, self.y + size), page_no=self.page.page_no,
                                    size=size, **kw))
        self.y += size * 1.8

    def center(self, text, size=BODY, **kw):
        w = len(text) * size
        mid = (LEFT + RIGHT) / 2
        self._add(text, mid - w / 2, mid + w / 2, size, **kw)

    def left(self, text, size=BODY, **kw):
        self._add(text, LEFT, LEFT + len(text) * size, size, **kw)

    def paragraph(self, text, per_line=28):
        """A body paragraph: 2-character indent, justified lines, short last line."""
        first = per_line - 2
        chunks = [text[:first]] + [text[i:i + per_line] for i in range(first, len(text), per_line)]
        for n, chunk in enumerate(chunks):
            x0 = LEFT + (2 * BODY if n == 0 else 0)
            full = n < len(chunks) - 1
            self._add(chunk, x0, RIGHT if full else x0 + len(chunk) * BODY, BODY)

    def page_number(self, text):
        self.y = 760
        self.center(text, size=14)


def run_pages(pages):
    blocks = layout(pages)
    articles = segment(blocks)
    return blocks, articles, extract(blocks, articles)


BODY_TEXT = ("会议要求，各单位要提高政治站位，压紧压实责任，细化工作措施，确保各项任务落到实处，"
             "切实把会议精神转化为推动工作的强大动力，为全市经济社会高质量发展作出新的更大贡献。")


def test_issue_number_publisher_and_date_on_one_line_and_footer_variants():
    p = PageBuilder()
    p.center("工作动态", size=40, color="red")
    p.center("第三期   编印单位：江北市发展和改革委员会办公室   二〇二三年三月十五日")
    p.center("我市召开一季度经济运行分析会", size=20, bold=True)
    p.paragraph("3月10日，我市召开一季度经济运行分析会。" + BODY_TEXT)
    p.left("抄送：省发展和改革委员会。", size=14)
    p.left("江北市发展和改革委员会办公室 2023年3月16日印发", size=14)
    p.left("印数：200份", size=14)
    p.page_number("- 1 -")
    before = copy.deepcopy(p.page)
    laid = analyse([p.page])
    assert p.page == before            # layout returns new pages, the input is untouched
    blocks, articles, meta = run_pages([p.page])
    assert meta.title == "工作动态"
    assert meta.issue_no == 3 and meta.year == 2023 and meta.date == "2023-03-15"
    assert meta.publisher == "江北市发展和改革委员会办公室"
    assert meta.printed_date == "2023-03-16" and meta.copies == 200
    assert meta.cc == ["省发展和改革委员会"] and meta.recipients == []
    assert [a.title for a in articles] == ["我市召开一季度经济运行分析会"]
    assert articles[0].event_dates == ["2023-03-10"]
    assert "- 1 -" not in laid.pages[0].text and "印数" in laid.pages[0].text


def test_editor_note_above_the_title_joins_the_article_and_centred_decorated_sections():
    p = PageBuilder()
    p.center("防汛工作简报", size=40, color="red")
    p.center("特刊")
    p.center("江北市防汛抗旱指挥部办公室")
    p.center("2023年7月2日")
    p.center("【汛情通报】", size=18, bold=True)
    p.paragraph("编者按：入汛以来，我市遭遇多轮强降雨过程，现将有关情况编发如下。")
    p.center("全市启动防汛四级应急响应", size=20, bold=True)
    p.paragraph("7月1日，市防汛抗旱指挥部启动防汛四级应急响应。" + BODY_TEXT)
    p.center("◆基层动态◆", size=18, bold=True)
    p.center("北岸区开展汛前隐患排查", size=20, bold=True)
    p.paragraph("近日，北岸区组织开展汛前隐患排查。" + BODY_TEXT)
    blocks, articles, meta = run_pages([p.page])
    assert meta.special == "特刊" and meta.issue_no is None and "no-issue-no" not in meta.flags
    assert meta.publisher == "江北市防汛抗旱指挥部办公室"
    assert [(a.section, a.title) for a in articles] == [
        ("汛情通报", "全市启动防汛四级应急响应"), ("基层动态", "北岸区开展汛前隐患排查")]
    assert articles[0].body.startswith("编者按：入汛以来")
    assert meta.sections == ["汛情通报", "基层动态"]


def test_run_in_titles_without_toc_and_in_article_headings():
    p = PageBuilder()
    p.center("教育信息", size=40, color="red")
    p.center("第 12 期")
    p.center("南河县教育局")
    p.center("2022年11月3日")
    p.center("我县推进义务教育优质均衡发展", size=20, bold=True)
    p.paragraph("今年以来，我县多措并举推进义务教育优质均衡发展。" + BODY_TEXT)
    p.paragraph("一、加大投入力度")
    p.paragraph("各乡镇要统筹安排资金用于改善办学条件。" + BODY_TEXT)
    p.paragraph("县实验小学举办科技节活动。近日，县实验小学举办第五届科技节。" + BODY_TEXT)
    p.paragraph("石门乡中心学校开展研学实践。石门乡中心学校依托茶园资源开发研学线路。" + BODY_TEXT)
    blocks, articles, meta = run_pages([p.page])
    assert [a.title for a in articles] == ["我县推进义务教育优质均衡发展", "县实验小学举办科技节活动",
                                           "石门乡中心学校开展研学实践"]
    assert "一、加大投入力度\n各乡镇要统筹安排资金" in articles[0].body
    assert articles[1].run_in and articles[1].body.startswith("近日，县实验小学")
    assert meta.issue_no == 12 and meta.date == "2022-11-03"


def test_article_crossing_a_page_and_running_header():
    pages = []
    for n in (1, 2, 3):
        p = PageBuilder(page_no=n)
        if n == 1:
            p.center("工作简报", size=40, color="red")
            p.center("2021年第4期（总第103期）")
            p.center("某某局办公室")
            p.center("2021年5月28日")
            p.center("某某局召开专题会议", size=20, bold=True)
            p.paragraph("5月8日，某某局召开专题会议。" + BODY_TEXT * 3)
        else:
            p.y = 40
            p.center("工作简报", size=10)   # running header on later pages
            p.y = 80
            p.paragraph(BODY_TEXT * 2)
        p.page_number(f"— {n} —")
        pages.append(p.page)
    # the paragraph on page 1 ends mid-line only at the very end: make page 2 continue it
    blocks, articles, meta = run_pages(pages)
    assert meta.total_no == 103 and meta.issue_no == 4
    assert len(articles) == 1 and (articles[0].page_start, articles[0].page_end) == (1, 3)
    assert all(b.role != Role.RUNNING_HEADER for b in blocks)
    assert "工作简报" not in articles[0].body
    assert {b[0] for b in articles[0].boxes} == {1, 2, 3}


def test_contents_with_leader_dots_and_page_numbers_drive_run_in_titles():
    p = PageBuilder()
    p.center("信息专报", size=40, color="red")
    p.center("第 5 期")
    p.center("东川县人民政府办公室")
    p.center("2024年1月8日")
    p.center("目  录", size=16)
    p._add("东川县启动冬春农田水利建设……………1", LEFT + 2 * BODY, LEFT + 24 * BODY, 14)
    p._add("县人社局开展根治欠薪冬季行动……………1", LEFT + 2 * BODY, LEFT + 25 * BODY, 14)
    p.paragraph("东川县启动冬春农田水利建设。1月5日，全县冬春农田水利建设现场会召开。" + BODY_TEXT)
    p.paragraph("县人社局开展根治欠薪冬季行动。" + BODY_TEXT)   # no opener after the title: the contents decide
    blocks, articles, meta = run_pages([p.page])
    assert meta.toc == ["东川县启动冬春农田水利建设", "县人社局开展根治欠薪冬季行动"]
    assert [a.title for a in articles] == meta.toc
    assert all(a.run_in for a in articles)
    assert articles[1].body.startswith("会议要求")
    assert meta.issue_no == 5 and meta.publisher == "东川县人民政府办公室"


@pytest.mark.parametrize("serial", ["№ 0003788", "N. 0003788", "N9 0003788", "N 0003788"])
def test_serial_number_above_the_masthead_as_ocr_reads_it(serial):
    """A copy's serial number (№ 0003788) above a two-line masthead, in the
    forms OCR gives a small №: never the masthead, never a 期号."""
    p = PageBuilder()        # sizes as OCR measured them on a 1978 photo (real05)
    p.center(serial, size=20)
    p.center("中共河南省委", size=26)
    p.center("常委扩大会议简报", size=34)
    p.center("（50）")
    p.center("一九七八年十一月四日", size=15)
    p.center("刘建勋同志所犯严重错误的部分材料", size=20, bold=True)
    p.paragraph("一九七六年三月初，中央打招呼会议期间，" + BODY_TEXT)
    blocks, articles, meta = run_pages([p.page])
    assert meta.title == "中共河南省委常委扩大会议简报"
    assert meta.issue_no == 50 and meta.date == "1978-11-04"
    assert [a.title for a in articles] == ["刘建勋同志所犯严重错误的部分材料"]


def test_ocr_cut_date_is_a_date_line_and_body_lines_above_a_date_are_not_issuers():
    """A front-matter date whose Chinese year OCR cut short (二〇二二 read 二二)
    is a date line, not an article, and takes its year from the 印发 date; a
    落款 date with a body line over it (its 。 lost) keeps that line in the
    body: a clause is no issuer."""
    p = PageBuilder()
    p.center("工作简报", size=36, color="red")
    p.center("第十二期")
    p.center("南河县农业农村局。")           # a speck OCR read as 。
    p.center("二二年九月六日")
    p.center("我县全力抓好秋粮生产确保颗粒归仓", size=22)
    p.paragraph(BODY_TEXT)
    p.left("发：各乡（镇）人民政府，局机关各股室。")
    p.left("南河县农业农村局办公室 2022年9月6日印发")
    blocks, articles, meta = run_pages([p.page])
    assert [a.title for a in articles] == ["我县全力抓好秋粮生产确保颗粒归仓"]
    assert (meta.date, meta.year, meta.issue_no, meta.printed_date) == ("2022-09-06", 2022, 12, "2022-09-06")
    assert meta.publisher == "南河县农业农村局"

    p = PageBuilder()
    p.center("江北市人民政府办公室文件", size=30, color="red")
    p.center("江政办发〔2024〕3号")
    p.center("关于印发行动方案的通知", size=22)
    p.left("各县（市、区）人民政府：")
    p.paragraph(BODY_TEXT)
    p.left("会议精神转化为推动工作的强大动力")
    p.center("二四年一月八日")
    blocks, articles, meta = run_pages([p.page])
    assert meta.date == "2024-01-08" and articles[0].body.endswith("会议精神转化为推动工作的强大动力")


def test_headline_line_ending_in_a_colon_runs_on():
    """The first line of a wrapped headline that OCR ended with a colon (a
    speck) still starts the headline: the two lines are one title."""
    p = PageBuilder()
    p.center("工作简报", size=36, color="red")
    p.center("2022年第6期")
    p.center("青山市机关事务管理局  2022年6月24日")
    p.center("市机关事务管理局召开推进会", size=20)
    p.paragraph(BODY_TEXT)
    p.center("市机关事务管理局联合市发展改革委开展：", size=20)
    p.y -= 20 * 0.5
    p.center("2022年全国节能宣传周系列活动", size=20)
    p.paragraph(BODY_TEXT)
    blocks, articles, meta = run_pages([p.page])
    assert [a.title for a in articles] == ["市机关事务管理局召开推进会",
                                           "市机关事务管理局联合市发展改革委开展：2022年全国节能宣传周系列活动"]


def test_short_line_ending_a_paragraph_over_a_page_break_is_no_section():
    """A paragraph's last two characters carried to the next page, their 。
    lost and their size overestimated (十二 of ...下降百分之 / 十二。), stay body."""
    p1 = PageBuilder(1)
    p1.center("工作简报", size=36, color="red")
    p1.center("2022年第6期")
    p1.center("青山市机关事务管理局  2022年6月24日")
    p1.center("东林区提升公务用车管理水平", size=20)
    p1.paragraph(BODY_TEXT[:-1] + "公务用车运行费用同比下降百分之")
    p1.page.lines[-1] = Line(text=p1.page.lines[-1].text, page_no=1, size=BODY,
                             box=(LEFT, p1.page.lines[-1].box[1], RIGHT, p1.page.lines[-1].box[3]))
    p2 = PageBuilder(2)
    p2.left("十二", size=18)
    p2.paragraph(BODY_TEXT)
    blocks, articles, meta = run_pages([p1.page, p2.page])
    assert [(a.section, a.title) for a in articles] == [(None, "东林区提升公务用车管理水平")]
    assert "下降百分之十二" in articles[0].body.replace("\n", "")
    # the same after a line ending in a quoted phrase (“服务好” is no sentence's end)
    p1.page.lines[-1] = Line(text="推动签约服务由“签得上”向“服务好”", page_no=1, size=BODY,
                             box=(LEFT, p1.page.lines[-1].box[1], RIGHT, p1.page.lines[-1].box[3]))
    p2.page.lines[0] = Line(text="转变", page_no=2, size=18, box=p2.page.lines[0].box)
    blocks, articles, meta = run_pages([p1.page, p2.page])
    assert [(a.section, a.title) for a in articles] == [(None, "东林区提升公务用车管理水平")]


def test_paragraph_first_line_sized_large_by_ocr_is_no_headline_line():
    """Under a headline, a paragraph's first line (indented, running to the right
    margin) that OCR sized 16% over the body stays body; a body-size centred
    heading over a paragraph whose box starts early (a speck) is still a heading."""
    p = PageBuilder()
    p.center("工作简报", size=36, color="red")
    p.center("2022年第6期")
    p.center("南河县农业农村局  2022年9月6日")
    p.center("“中国农民丰收节”南河县系列活动即将启动", size=20)
    p.paragraph("今年9月23日是第五个“中国农民丰收节”县农业农村局会同县文化和旅游局举办系列活动。" + BODY_TEXT)
    first = next(i for i, l in enumerate(p.page.lines) if l.text.startswith("今年"))
    # (sized 18.5 pt, indented 1.7 characters: it would pass for centred)
    x0, top, x1, bottom = p.page.lines[first].box
    p.page.lines[first] = Line(text=p.page.lines[first].text, page_no=1, size=18.5, box=(LEFT + 28, top, x1, bottom))
    p.center("各县委认真学习会议文件")
    p.paragraph(BODY_TEXT)
    nxt = len(p.page.lines) - 3
    x0, top, x1, bottom = p.page.lines[nxt].box
    p.page.lines[nxt] = Line(text=p.page.lines[nxt].text, page_no=1, size=BODY, box=(LEFT + 13, top, x1, bottom))
    blocks, articles, meta = run_pages([p.page])
    assert [a.title for a in articles] == ["“中国农民丰收节”南河县系列活动即将启动", "各县委认真学习会议文件"]
    assert articles[0].body.startswith("今年9月23日")


def test_body_size_heading_whose_box_a_speck_widened_is_still_a_heading():
    """A centred body-size heading between paragraphs whose OCR box a speck
    widened 22 pt to the left (so it is off-centre by more than the tolerance)
    is still a heading: it sits well inside both margins."""
    p = PageBuilder()
    p.center("中共江北市委常委扩大会议简报", size=30, color="red")
    p.center("（93）")
    p.center("一九七八年十月二十五日")
    p.center("市委召开常委扩大会议传达贯彻省委工作会议精神", size=22)
    p.paragraph(BODY_TEXT + "会议由市委书记主持。")
    p.center("各县委认真学习会议文件")
    i = len(p.page.lines) - 1
    x0, top, x1, bottom = p.page.lines[i].box
    p.page.lines[i] = Line(text="各县委认真学习会议文件", page_no=1, size=18.3, box=(x0 - 22, top, x1, bottom))
    p.paragraph(BODY_TEXT)
    blocks, articles, meta = run_pages([p.page])
    assert [a.title for a in articles] == ["市委召开常委扩大会议传达贯彻省委工作会议精神", "各县委认真学习会议文件"]
