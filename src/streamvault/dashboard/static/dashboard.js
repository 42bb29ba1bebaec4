/* The dashboard page: polls the JSON API and re-renders a chart only when its ETag changed.
   Names from the warehouse are only ever set as text (textContent; ECharts data drawn as SVG text,
   tooltips in rich-text mode), never as HTML. */
'use strict';

(() => {
  const config = JSON.parse(document.getElementById('config').textContent);
  const texts = config.texts;
  const numbers = new Intl.NumberFormat(config.lang);
  const percent = new Intl.NumberFormat(config.lang, {style: 'percent', maximumFractionDigits: 1});
  const dateTime = new Intl.DateTimeFormat(config.lang, {dateStyle: 'short', timeStyle: 'medium'});
  const clock = new Intl.DateTimeFormat(config.lang, {timeStyle: 'medium'});
  const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => String(values[key]));
  const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1',
                   '#ff9da7', '#9c755f', '#bab0ac'];
  const BAR_COLOR = {users: '#4e79a7', orders: '#f28e2b'};

  const shown = new Map();  // what each widget shows: key -> ETag
  let lastSuccess = null;
  let polls = 0;
  let timer = null;
  let inFlight = null;

  const charts = [...document.querySelectorAll('.card')].map((card) => {
    const element = card.querySelector('.chart');
    const entry = {
      card, element, slug: card.dataset.chart, kind: card.dataset.kind, measure: card.dataset.measure,
      plot: echarts.init(element, null, {renderer: 'svg'}), toggle: card.querySelector('.toggle'),
      showAll: false, items: [],
    };
    new ResizeObserver(() => fit(entry)).observe(element);
    if (entry.toggle) {
      entry.toggle.addEventListener('click', () => {
        entry.showAll = !entry.showAll;
        entry.toggle.setAttribute('aria-pressed', String(entry.showAll));
        shown.delete(entry.slug);
        refreshChart(entry).catch(() => setStatus(false));
      });
    }
    return entry;
  });

  /** The body of `url` if it differs from what `key` shows (null on 304), with its ETag. */
  async function fetchChanged(key, url) {
    const headers = shown.has(key) ? {'If-None-Match': shown.get(key)} : {};
    const response = await fetch(url, {headers, cache: 'no-store'});
    if (response.status === 304) return null;
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return {body: await response.json(), etag: response.headers.get('ETag')};
  }

  let dataAsOf = null;  // the newest source publish time the marts include (Date), from /api/kpis

  /** "Data as of …": how far behind now the marts are, recomputed at every poll, changed or not. */
  function showDataAsOf() {
    const element = document.getElementById('data-as-of');
    element.hidden = dataAsOf === null;
    if (dataAsOf === null) return;
    const seconds = Math.max(0, (Date.now() - dataAsOf.getTime()) / 1000);
    element.textContent = fill(texts.data_as_of, {time: dateTime.format(dataAsOf), seconds: numbers.format(
      Math.round(seconds * 10) / 10)});
  }

  async function refreshKpis() {
    const changed = await fetchChanged('kpis', config.kpisUrl);
    if (!changed) return;
    const kpis = changed.body;
    dataAsOf = kpis.data_as_of ? new Date(kpis.data_as_of) : null;
    for (const element of document.querySelectorAll('[data-kpi]')) {
      const value = kpis[element.dataset.kpi];
      element.textContent = element.dataset.kpi === 'newest_data_at'
        ? (value ? dateTime.format(new Date(value)) : '—')
        : numbers.format(value);
    }
    document.getElementById('no-data').hidden = kpis.dishes > 0 || kpis.categories > 0;
    shown.set('kpis', changed.etag);
  }

  const chartUrl = (entry) => config.charts[entry.slug] + (entry.kind === 'bar' && !entry.showAll ? `?limit=${config.topN}` : '');

  async function refreshChart(entry) {
    const url = chartUrl(entry);
    const changed = await fetchChanged(entry.slug, url);
    // Unchanged; or "show all" was toggled meanwhile; or a request that raced this one already drew the same body.
    if (!changed || url !== chartUrl(entry) || changed.etag === shown.get(entry.slug)) return;
    render(entry, changed.body);
    shown.set(entry.slug, changed.etag);
  }

  function render(entry, data) {
    entry.items = data.items;
    const isEmpty = data.items.length === 0;
    entry.card.classList.toggle('is-empty', isEmpty);
    entry.card.querySelector('.chart-empty').hidden = !isEmpty;
    if (entry.toggle) {
      entry.toggle.hidden = data.total_items <= config.topN && !entry.showAll;
      entry.toggle.textContent = entry.showAll
        ? fill(texts.show_top, {count: config.topN})
        : fill(texts.show_all, {count: data.total_items});
    }
    draw(entry, true);
    renderTable(entry.card, data.items);
    entry.card.dataset.renders = String(Number(entry.card.dataset.renders) + 1);
  }

  /** Sizes the chart for its items and its width, then draws them: new data animates, a resize does not. */
  function draw(entry, replace) {
    const {height, option} = entry.kind === 'pie' ? pieLayout(entry) : barLayout(entry);
    entry.element.style.height = `${height}px`;
    entry.plot.resize();
    entry.plot.setOption(replace ? option : {...option, animationDurationUpdate: 0}, {notMerge: replace});
  }

  const fit = (entry) => (entry.items.length ? draw(entry, false) : entry.plot.resize());

  /** A donut with a legend of names and shares: beside it on a laptop, under it on a phone. */
  function pieLayout(entry) {
    const total = entry.items.reduce((sum, item) => sum + item.value, 0);
    const shares = new Map(entry.items.map(({label, value}) => [label, percent.format(value / total)]));
    const width = entry.element.clientWidth;
    const wide = width >= 460;
    const outer = Math.round(wide ? Math.min(140, width * 0.24) : Math.min(120, width * 0.36));
    const legend = wide
      ? {right: 0, top: 'middle', width: width - 2 * outer - 48}
      : {left: 'center', top: 2 * outer + 20};
    return {
      height: wide ? 340 : 2 * outer + 48 + entry.items.length * 24,
      option: {
        color: PALETTE,
        animationDuration: 400,
        tooltip: {trigger: 'item', renderMode: 'richText', formatter: '{b}: {c} ({d}%)'},
        legend: {
          type: 'scroll', orient: 'vertical', itemGap: 8, ...legend,
          formatter: (name) => `${name}  ${shares.get(name)}`,
          textStyle: {width: wide ? width - 2 * outer - 90 : width - 60, overflow: 'truncate'},
        },
        series: [{
          type: 'pie', radius: [Math.round(outer * 0.55), outer],
          center: wide ? [outer + 8, '50%'] : ['50%', outer + 8], label: {show: false},
          itemStyle: {borderColor: '#fff', borderWidth: 2, borderRadius: 4},
          data: entry.items.map(({label, value}) => ({name: label, value})),
        }],
      },
    };
  }

  /** Horizontal bars, biggest on top, one row per dish: the chart grows with the list. */
  function barLayout(entry) {
    return {
      height: Math.max(240, entry.items.length * 30 + 40),
      option: {
        animationDuration: 400,
        grid: {left: 8, right: 40, top: 8, bottom: 24},  // ECharts 6 keeps the axis labels inside (outerBounds)
        tooltip: {trigger: 'item', renderMode: 'richText', formatter: '{b}: {c}'},
        xAxis: {type: 'value', minInterval: 1, splitLine: {lineStyle: {color: '#eceff3'}}},
        yAxis: {
          type: 'category', inverse: true, axisTick: {show: false},
          axisLabel: {width: Math.round(Math.max(90, Math.min(240, entry.element.clientWidth * 0.4))), overflow: 'truncate'},
          data: entry.items.map((item) => item.label),
        },
        series: [{
          type: 'bar', barMaxWidth: 20, color: BAR_COLOR[entry.measure],
          itemStyle: {borderRadius: [0, 4, 4, 0]}, label: {show: true, position: 'right'},
          data: entry.items.map(({label, value}) => ({name: label, value})),
        }],
      },
    };
  }

  function renderTable(card, items) {
    card.querySelector('tbody').replaceChildren(...items.map(({label, value}) => {
      const row = document.createElement('tr');
      const nameCell = document.createElement('td');
      const valueCell = document.createElement('td');
      nameCell.textContent = label;
      valueCell.textContent = numbers.format(value);
      valueCell.className = 'num';
      row.append(nameCell, valueCell);
      return row;
    }));
  }

  function setStatus(ok) {
    const time = lastSuccess ? clock.format(lastSuccess) : '—';
    document.getElementById('status').textContent = ok
      ? fill(texts.live, {seconds: config.refreshMs / 1000, time})
      : fill(texts.offline, {time});
    document.body.dataset.state = ok ? 'live' : 'offline';
  }

  async function pollOnce() {
    try {
      await Promise.all([refreshKpis(), ...charts.map(refreshChart)]);
      showDataAsOf();
      lastSuccess = new Date();
      setStatus(true);
    } catch (error) {
      console.warn('dashboard refresh failed:', error);
      setStatus(false);
    }
    document.body.dataset.polls = String(++polls);
  }

  /** One poll at a time; the next is due `refreshMs` after this one ends, and none while the tab is hidden. */
  function poll() {
    clearTimeout(timer);
    inFlight = inFlight || pollOnce().finally(() => {
      inFlight = null;
      if (!document.hidden) timer = setTimeout(poll, config.refreshMs);
    });
    return inFlight;
  }

  document.addEventListener('visibilitychange', () => (document.hidden ? clearTimeout(timer) : poll()));
  poll();
})();
