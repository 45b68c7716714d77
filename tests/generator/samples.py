"""Bulletin generator: samples."""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Optional, Sequence, Union

from generator.spec import ArticleSpec, BulletinSpec, Heading  # noqa: F401
from generator.pdf import render_pdf  # noqa: F401
from generator.documents import DocumentSpec, render_document
from generator.scans import render_scans  # noqa: F401

# --------------------------------------------------------------------------
# Sample issues (invented content)


def _gen01() -> BulletinSpec:
    A = ArticleSpec
    return BulletinSpec(
        id="gen01",
        title="青山市机关事务管理局简报",
        publisher="青山市机关事务管理局",
        date="2022-06-24",
        issue_no=6, total_no=87,
        toc=True, section_style="bracket",
        recipients=[["市委办公室", "市人大常委会办公室", "市政府办公室", "市政协办公室"],
                    ["各区（县）机关事务管理部门", "市直各部门"],
                    ["局领导", "机关各科（室）", "局属各单位"]],
        cc=["省机关事务管理局"],
        disclosure="主动公开",
        printed_by="青山市机关事务管理局办公室",
        copies=25,
        queries=["节能", "公务用车", "光盘行动", "刘建国", "垃圾分类"],
        articles=[
            A(section="工作动态",
              title="市机关事务管理局召开节约型机关建设推进会",
              paragraphs=[
                  "6月14日，市机关事务管理局召开全市节约型机关建设推进会，通报节约型机关创建进展情况，部署下一阶段重点任务。局党组书记、局长刘建国出席会议并讲话，各区（县）机关事务管理部门负责同志参加会议。",
                  "会议指出，今年以来，全市各级机关认真落实节约型机关创建行动方案，坚持从节约一度电、一滴水、一张纸做起，全市已有百分之七十二的县级及以上党政机关达到创建要求，公共机构人均综合能耗同比下降百分之三点一，创建工作取得阶段性成效。",
                  "会议要求，要对照创建标准逐项查漏补缺，加快推进未达标单位整改，确保年底前全市县级及以上党政机关创建比例达到百分之九十以上；要加大节能改造力度，推广使用高效节能设备和新能源汽车；要加强宣传引导，把勤俭节约的理念融入机关日常管理，引导干部职工养成绿色低碳的工作和生活方式。",
              ],
              event_dates=["2022-06-14"],
              units=["市机关事务管理局", "各区（县）机关事务管理部门"]),
            A(section="工作动态",
              title="市机关事务管理局联合市发展改革委开展2022年全国节能宣传周和全国低碳日系列活动",
              title_lines=["市机关事务管理局联合市发展改革委开展",
                           "2022年全国节能宣传周和全国低碳日系列活动"],
              paragraphs=[
                  "6月13日至19日，市机关事务管理局联合市发展改革委开展2022年全国节能宣传周和全国低碳日系列活动，围绕“绿色低碳，节能先行”主题，在市级机关集中办公区设置宣传展板，发放节能宣传手册3000余份。",
                  "活动期间，市级机关开展“熄灯一小时”“绿色出行日”等体验活动，组织干部职工参观市新能源汽车展示中心和公共机构能耗监测平台，举办节能知识网络竞赛，共有2600余人参与答题。",
              ],
              event_dates=["2022-06-13", "2022-06-19"],
              units=["市机关事务管理局", "市发展改革委", "市新能源汽车展示中心"]),
            A(section="工作动态",
              title="市级机关办公用房专项清理工作通过省级验收",
              paragraphs=[
                  "6月8日至9日，省机关事务管理局验收组对我市市级机关办公用房专项清理整改工作进行验收。验收组通过听取汇报、查阅台账、实地抽查等方式，对市级机关办公用房配置、使用、处置等情况进行了全面检查，一致同意通过验收。",
                  "去年以来，市机关事务管理局按照“摸清底数、分类处置、建章立制”的思路，对市级机关64家单位的办公用房开展全面清查，核实办公用房面积21.6万平方米，清理腾退超标准使用的办公用房3400平方米，全部纳入统一调剂使用。同时，建成办公用房管理信息系统，实现办公用房权属、使用、维修等信息的动态管理。",
                  "验收组指出，我市办公用房专项清理工作领导重视、措施有力、成效明显，建立的办公用房统一调配和动态监管机制具有较强的推广价值。下一步，市机关事务管理局将持续巩固清理成果，完善办公用房使用监督检查制度，推动办公用房管理规范化、标准化、信息化。",
              ],
              event_dates=["2022-06-08", "2022-06-09"],
              units=["省机关事务管理局", "市机关事务管理局"]),
            A(section="区县动态", run_in=True,
              title="东林区“三个强化”提升公务用车管理水平",
              paragraphs=[
                  "一是强化制度约束。修订公务用车使用管理办法，明确用车审批、派车、费用结算等工作流程，实行“一车一档”管理。二是强化平台监管。将全区126辆公务用车全部纳入公务用车管理平台，实现用车申请、审批、派车、评价全程线上运行。三是强化费用控制。推行定点维修、定点加油和定点保险，公务用车运行费用同比下降百分之十二。",
              ],
              units=["东林区"]),
            A(section="区县动态", run_in=True,
              title="白石县多措并举推进公共机构垃圾分类",
              paragraphs=[
                  "白石县以县级机关集中办公区为示范，在各楼层设置分类投放点48个，配备专职督导员，推行“定时定点”投放。县机关事务服务中心每月开展一次垃圾分类检查，并将检查结果纳入节约型机关创建考核。目前，全县公共机构生活垃圾分类覆盖率达到百分之百。",
              ],
              units=["白石县", "县机关事务服务中心"]),
            A(section="区县动态", run_in=True,
              title="青山经开区机关食堂开展“光盘行动”",
              paragraphs=[
                  "5月下旬起，青山经开区机关食堂推行小份菜、半份菜和按需打餐，在餐桌设置“光盘行动”提示牌，每周公布餐厨垃圾产生量。活动开展以来，食堂日均餐厨垃圾由85公斤减少到52公斤。",
              ],
              units=["青山经开区机关食堂"]),
        ],
    )


def _gen02() -> BulletinSpec:
    A = ArticleSpec
    return BulletinSpec(
        id="gen02",
        title="工作简报",
        masthead_lines=["工 作 简 报"],
        publisher="南河县农业农村局",
        date="2022-09-06",
        issue_no=12, issue_style="cn", date_style="cn",
        footer_style="baosongfa",
        report_to=["县委办公室", "县人民政府办公室", "市农业农村局"],
        send_to=["县人大常委会办公室", "县政协办公室", "县委农村工作领导小组成员单位"],
        issue_to=["各乡（镇）人民政府", "局机关各股室", "局属各单位"],
        printed_by="南河县农业农村局办公室",
        copies=40, copies_spaced=False,
        queries=["秋粮", "高标准农田", "王海燕", "农民丰收节", "稻谷"],
        articles=[
            A(title="我县全力抓好秋粮生产确保颗粒归仓",
              subtitle="全县秋粮播种面积稳定在42.6万亩",
              paragraphs=[
                  "8月30日，全县秋粮生产暨秋收秋种工作会议在县农业农村局召开。副县长王海燕出席会议并讲话，各乡（镇）分管负责同志和县农业农村局相关股室负责人参加会议。",
                  "会议通报，今年全县秋粮播种面积稳定在42.6万亩，其中水稻28.3万亩、玉米9.1万亩、大豆及其他作物5.2万亩。受前期持续高温干旱影响，部分乡（镇）水稻出现结实率下降等情况，县农业农村局及时组织农技人员分片包干、进村入户，指导农户科学灌溉、追施穗肥、防控病虫害，最大限度减少灾害损失。",
                  Heading("一、抓好田间管理"),
                  "各乡（镇）要组织农技人员深入田间地头，针对不同作物生育进程分类指导，重点抓好晚稻后期水肥管理和稻飞虱、稻纵卷叶螟等病虫害统防统治，确保秋粮稳产。",
                  Heading("二、抓好机收减损"),
                  "县农业农村局将组织农机合作社提前检修收获机械，合理调度跨区作业机具，开展机收减损技能培训，力争水稻机收损失率控制在百分之三以内。",
                  Heading("三、抓好烘干收储"),
                  "各乡（镇）要统筹用好现有烘干设施，引导种粮大户和合作社错峰收获、及时烘干，协调粮食收储企业做好收购准备，防止出现“卖粮难”。",
              ],
              event_dates=["2022-08-30"],
              units=["县农业农村局", "各乡（镇）", "农机合作社"]),
            A(title="县农业农村局开展高标准农田建设项目质量督查",
              title_lines=["县农业农村局开展", "高标准农田建设项目质量督查"],
              paragraphs=[
                  "8月22日至26日，县农业农村局组成3个督查组，对2022年度高标准农田建设项目开展质量督查。督查组深入7个项目区，采取查阅资料、现场量测、走访群众等方式，重点督查灌排工程、田间道路、土壤改良等建设内容和工程进度。",
                  "督查发现，全县今年新建高标准农田3.5万亩，已完成工程量的百分之八十一，总体进展顺利，但个别标段存在渠道砌筑不规范、资料归档不及时等问题。督查组已现场反馈，要求施工单位限期整改，监理单位加强旁站监督，确保项目建一片、成一片、见效一片。",
              ],
              event_dates=["2022-08-22", "2022-08-26"],
              units=["县农业农村局"]),
            A(title="“中国农民丰收节”南河县系列活动即将启动",
              paragraphs=[
                  "今年9月23日是第五个“中国农民丰收节”。县农业农村局会同县文化和旅游局、县供销合作社，拟在石桥镇举办“庆丰收·迎盛会”系列活动，内容包括农产品展销、农耕文化展示、稻谷收割比赛和乡村文艺演出等。",
                  "活动将集中展示全县脱贫攻坚成果巩固和乡村振兴工作成效，组织50余家农业经营主体参加展销，推动“南河贡米”“南河山茶油”等特色农产品品牌走出去。",
              ],
              event_dates=["2022-09-23"],
              units=["县农业农村局", "县文化和旅游局", "县供销合作社", "石桥镇"]),
        ],
    )


def _gen03() -> BulletinSpec:
    A = ArticleSpec
    return BulletinSpec(
        id="gen03",
        title="临江市应急管理局工作简报",
        masthead_lines=["临江市应急管理局", "工作简报"],
        publisher="临江市应急管理局",
        date="2023-07-12",
        special="特刊", issue_no=None,
        pub_date_layout="one-line",
        toc=True, toc_bullet="◆",
        section_style="diamond", section_red=True,
        title_size=22.0,
        recipients=[["市委办公室", "市政府办公室", "市防汛抗旱指挥部各成员单位"],
                    ["各县（市、区）应急管理局"]],
        cc=["省应急管理厅", "省防汛抗旱指挥部办公室"],
        disclosure="主动公开",
        printed_by="临江市应急管理局办公室",
        printed_date="2023-07-13",
        copies=50,
        queries=["防汛", "转移", "陈立新", "水库", "应急演练"],
        articles=[
            A(section="防汛动态",
              title="全市迅速应对今年首轮强降雨过程",
              editor_note="7月9日至11日，我市遭遇今年入汛以来最强降雨过程。全市各级各部门闻“汛”而动，全力以赴做好防汛救灾各项工作，实现了人员零伤亡。现将有关情况专刊编发，供参考。",
              paragraphs=[
                  "7月9日至11日，受高空低槽和西南暖湿气流共同影响，我市出现大范围强降雨天气，全市平均降雨量达到126毫米，最大累计降雨量出现在北山县青石乡，达到318毫米，境内沅溪、白水河等主要河流出现超警戒水位。",
                  Heading("一、提前部署，压紧压实责任"),
                  "7月8日，市防汛抗旱指挥部召开防汛会商调度会，市委常委、副市长陈立新主持会议，提前启动防汛Ⅳ级应急响应，并于7月10日提升至Ⅲ级。各级防汛责任人全部到岗到位，市级领导分片包干赴一线督导。",
                  Heading("二、科学调度，全力转移避险"),
                  "全市累计发布预警信息1.2万条，组织转移受威胁群众6832人，其中北山县转移2940人。市应急管理局会同市水利局对全市47座中小型水库实行“一库一策”调度，提前预泄腾库，确保水库安全度汛。",
                  Heading("三、及时救助，保障基本生活"),
                  "灾情发生后，市应急管理局第一时间启动救灾物资调拨程序，向受灾县（市、区）调拨帐篷、折叠床、棉被等救灾物资1.1万件，及时安排受灾群众临时生活。",
              ],
              event_dates=["2023-07-09", "2023-07-11", "2023-07-08", "2023-07-10"],
              units=["市防汛抗旱指挥部", "市应急管理局", "市水利局", "北山县"]),
            A(section="防汛动态",
              title="市防汛抗旱指挥部组织开展山洪灾害应急演练",
              title_lines=["市防汛抗旱指挥部组织开展", "山洪灾害应急演练"],
              paragraphs=[
                  "6月28日，市防汛抗旱指挥部在北山县青石乡组织开展山洪灾害应急演练。演练模拟强降雨引发山洪、道路中断、群众被困等险情，检验了监测预警、转移避险、抢险救援等环节的协同能力。市消防救援支队、市应急救援队和乡村两级干部群众共380余人参加演练。",
              ],
              event_dates=["2023-06-28"],
              units=["市防汛抗旱指挥部", "市消防救援支队", "市应急救援队", "北山县青石乡"]),
            A(section="基层声音",
              title="北山县“三个一”机制筑牢山区防汛安全防线",
              title_lines=["北山县“三个一”机制", "筑牢山区防汛安全防线"],
              paragraphs=[
                  "北山县针对山高坡陡、人口分散的实际，建立“一张明白卡、一支巡查队、一个避险点”防汛工作机制，为全县1.6万户山区群众发放防汛避险明白卡，组建村级巡查队215支，落实避险安置点96个。此轮强降雨期间，该县提前转移群众2940人，未发生人员伤亡。",
              ],
              units=["北山县"]),
            A(section="基层声音",
              title="江南区网格员成为防汛“前哨”",
              paragraphs=[
                  "江南区将防汛工作纳入基层网格化管理，全区1260名网格员在强降雨期间逐户排查低洼地带和危旧房屋，第一时间上报险情27处，协助转移群众430人。",
              ],
              units=["江南区"]),
        ],
    )


def _gen04() -> BulletinSpec:
    A = ArticleSpec
    return BulletinSpec(
        id="gen04",
        title="文化旅游工作简报",
        publisher="北岭市文化广电旅游局",
        date="2023-10-09",
        special="增刊", issue_no=1,
        pub_date_layout="one-line",
        toc=True, toc_bullet="◆",
        section_style="plain",
        recipients=[["市委办公室", "市政府办公室", "市委宣传部"],
                    ["各县（区）文化广电旅游局", "局机关各科室", "局属各单位"]],
        cc=[],
        disclosure="主动公开",
        printed_by="北岭市文化广电旅游局办公室",
        printed_date="2023-10-10",
        copies=35,
        queries=["国庆", "游客", "古城", "非遗", "安全检查"],
        articles=[
            A(section="假日综述",
              title="国庆假期全市文化旅游市场安全有序",
              paragraphs=[
                  "9月29日至10月6日，全市共接待游客286.4万人次，同比增长百分之三十四；实现旅游收入21.7亿元，同比增长百分之四十一。北岭古城、云台山、月湖湿地公园等重点景区游客接待量均创历史新高，全市未发生重大旅游安全事故和有效投诉。",
                  "假期前，市文化广电旅游局会同市市场监管局、市公安局等部门开展节前安全检查，检查景区、星级饭店、娱乐场所等经营单位132家，整改安全隐患41处。",
              ],
              event_dates=["2023-09-29", "2023-10-06"],
              units=["市文化广电旅游局", "市市场监管局", "市公安局"]),
            A(section="基层动态", run_in=True,
              title="北岭古城推出夜游新场景",
              paragraphs=[
                  "国庆期间，北岭古城推出“灯影古城”夜游项目，开放古城墙夜间游览线路，举办非遗展演和特色市集，日均接待夜游游客3.2万人次。",
              ],
              units=["北岭古城"]),
            A(section="基层动态", run_in=True,
              title="云台县开展非遗进景区活动",
              paragraphs=[
                  "10月2日，云台县在云台山景区举办非遗展演周，组织剪纸、竹编、皮影戏等12个非遗项目进驻景区，传承人现场展示技艺，吸引游客驻足体验。",
              ],
              event_dates=["2023-10-02"],
              units=["云台县", "云台山景区"]),
            A(section="基层动态", run_in=True,
              title="湖滨区强化假日文化市场执法检查",
              paragraphs=[
                  "假日期间，湖滨区文化市场综合执法大队每天安排两个检查组，对辖区网吧、歌舞娱乐场所和剧本娱乐经营场所开展执法检查，共出动执法人员96人次，检查经营场所58家次，责令整改问题6个。",
              ],
              units=["湖滨区文化市场综合执法大队"]),
        ],
    )


def _gen05() -> BulletinSpec:
    A = ArticleSpec
    return BulletinSpec(
        id="gen05",
        title="西川县卫生健康信息",
        publisher="西川县卫生健康局",
        date="2024-04-18",
        issue_no=5, total_no=45, issue_style="plain",
        recipients=[["县委办公室", "县政府办公室", "县人大常委会办公室", "县政协办公室"],
                    ["各乡（镇）卫生院", "县直各医疗卫生单位"]],
        cc=["市卫生健康委员会"],
        disclosure="依申请公开",
        printed_by="西川县卫生健康局办公室",
        copies=30,
        queries=["家庭医生", "义诊", "李秀英", "医共体", "健康"],
        articles=[
            A(title="西川县医共体总医院与各乡（镇）卫生院签订家庭医生签约服务提质增效责任书",
              title_lines=["西川县医共体总医院与各乡（镇）卫生院签订",
                           "家庭医生签约服务提质增效责任书"],
              paragraphs=[
                  "4月10日，西川县召开2024年家庭医生签约服务工作推进会，县医共体总医院与全县14个乡（镇）卫生院签订家庭医生签约服务提质增效责任书。县卫生健康局党组书记、局长李秀英出席会议并讲话。",
                  "今年，全县将组建家庭医生团队126个，重点人群签约服务覆盖率达到百分之七十五以上，为高血压、糖尿病患者提供个性化健康管理服务。县卫生健康局将把签约服务质量纳入乡（镇）卫生院年度绩效考核，推动签约服务由“签得上”向“服务好”转变。",
              ],
              event_dates=["2024-04-10"],
              units=["县医共体总医院", "乡（镇）卫生院", "县卫生健康局"]),
            A(title="县人民医院专家团队赴偏远乡镇开展义诊活动",
              paragraphs=[
                  "4月13日，县人民医院组织心内科、儿科、眼科等8个科室的专家，赴高岩乡、白马乡开展“健康送基层”义诊活动，免费为群众测量血压血糖、开展眼科筛查，现场发放健康宣传资料1500余份，义诊群众620余人次。",
                  "活动期间，专家团队还对乡卫生院医务人员开展了常见病诊疗规范和急救技能培训，进一步提升基层医疗服务能力。",
              ],
              event_dates=["2024-04-13"],
              units=["县人民医院", "高岩乡", "白马乡"]),
            A(title="全县开展爱国卫生月活动",
              paragraphs=[
                  "4月是第36个爱国卫生月。县爱国卫生运动委员会办公室组织开展以“环境卫生同治理，健康生活共参与”为主题的系列活动，发动机关干部、志愿者和群众清理卫生死角，普及健康知识，倡导文明健康绿色环保生活方式。",
              ],
              units=["县爱国卫生运动委员会办公室"]),
        ],
    )


def sample_specs() -> list[BulletinSpec]:
    """Invented sample issues covering the typographic variants."""
    return [_gen01(), _gen02(), _gen03(), _gen04(), _gen05()]


# --------------------------------------------------------------------------
# Writing the samples

SCAN_SAMPLE = ("gen05", "mild", "pdf")     # (issue id, condition, container) of the scanned sample


def input_name(issue_id: str, condition: str, container: str) -> str:
    """Corpus file name: ``<id>-<condition>`` + ``.pdf``/``.tiff``/``.png``/``.jpg`` or ``/`` (folders)."""
    if container.endswith("folder"):
        return f"{issue_id}-{condition}/"
    ext = {"pdf": ".pdf", "tiff": ".tiff", "png": ".png", "jpeg": ".jpg"}[container]
    return f"{issue_id}-{condition}{ext}"


def write_issue(spec: Union[BulletinSpec, DocumentSpec], out_dir: Union[str, os.PathLike],
                forms: Sequence[tuple] = (("digital", "pdf"),),
                truth_dir: Union[str, os.PathLike, None] = None, seed: int = 0) -> dict:
    """Write one issue (a bulletin, or a document: 公文, report ...) in several
    input forms plus its truth JSON.

    ``forms`` items are ``(condition, container)`` or ``(condition, container,
    {render_scans keyword options})``, e.g. ``("digital", "pdf")``,
    ``("mild", "tiff")``, ``("hard", "jpeg-folder", {"seal": True})``.  Files
    are named ``<id>-<condition>.<ext>`` (``<id>-<condition>/`` for folders);
    ``truth["inputs"]`` lists them.  The truth goes to ``truth_dir`` (default:
    the ``truth`` folder next to ``out_dir``); returns the truth dict.
    """
    out = Path(out_dir)
    tdir = Path(truth_dir) if truth_dir is not None else out.parent / "truth"
    out.mkdir(parents=True, exist_ok=True)
    tdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        want_digital = any(f[0] == "digital" for f in forms)
        pdf_path = out / input_name(spec.id, "digital", "pdf") if want_digital else Path(tmp) / "d.pdf"
        render = render_document if isinstance(spec, DocumentSpec) else render_pdf
        truth = render(spec, pdf_path)
        truth["inputs"] = [{"file": pdf_path.name, "condition": "digital"}] if want_digital else []
        for k, form in enumerate(forms):
            cond, container = form[0], form[1]
            if cond == "digital":
                continue
            opts = dict(form[2]) if len(form) > 2 else {}
            opts.setdefault("seed", seed + k)
            name = input_name(spec.id, cond, container)
            render_scans(pdf_path, out / name.rstrip("/"), container, cond, **opts)
            truth["inputs"].append({"file": name, "condition": cond})
    with open(tdir / f"{spec.id}.json", "w", encoding="utf-8") as f:
        json.dump(truth, f, ensure_ascii=False, indent=1)
        f.write("\n")
    return truth


def write_samples(out_dir: Union[str, os.PathLike], scans: bool = True,
                  truth_dir: Union[str, os.PathLike, None] = None,
                  specs: Optional[Sequence[BulletinSpec]] = None) -> list[dict]:
    """Write every sample as ``<id>-digital.pdf`` into ``out_dir`` (a
    ``data/raw`` folder) and its truth as ``<truth_dir>/<id>.json`` (default:
    the ``truth`` folder next to ``out_dir``, so ingest never sees it).  With
    ``scans`` one issue is also written as a small scanned input
    (``SCAN_SAMPLE``: a 2-page mild image-only PDF at 200 dpi with a seal).
    Returns the truth dicts."""
    truths = []
    for spec in (specs if specs is not None else sample_specs()):
        forms: list[tuple] = [("digital", "pdf")]
        if scans and spec.id == SCAN_SAMPLE[0]:
            forms.append((SCAN_SAMPLE[1], SCAN_SAMPLE[2], {"dpi": 200, "seal": True, "seed": 1}))
        truths.append(write_issue(spec, out_dir, forms, truth_dir=truth_dir))
    return truths


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python tests/generator",
                                 description="Write the sample bulletins (PDFs + truth JSON).")
    ap.add_argument("out_dir", help="raw input folder, e.g. data/raw (truth goes to its sibling truth/)")
    ap.add_argument("--scans", action="store_true", help="also write the scanned sample")
    ap.add_argument("--truth-dir", default=None)
    args = ap.parse_args(argv)
    truths = write_samples(args.out_dir, scans=args.scans, truth_dir=args.truth_dir)
    for t in truths:
        print(t["id"], ", ".join(i["file"] for i in t["inputs"]), f"{len(t['pages'])} pages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
