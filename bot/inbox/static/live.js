// Every inbox page: listens to the live feed (Server-Sent Events; polling while the stream is
// refused or down), alerts on emergencies (banner, sound, title badge) and on cases assigned to
// this advisor, and hands every event to the page's own script as an 'inbox-live' DOM event.
(() => {
  const live = document.getElementById('live');
  if (!live) return;
  const labels = JSON.parse(document.getElementById('inbox-labels').textContent);
  const me = Number(live.dataset.advisor);
  const state = document.getElementById('live-state');
  const baseTitle = document.title;
  let last = live.dataset.after || '0-0';
  let source = null, pollTimer = null, retryTimer = null, alerts = 0;

  const newer = (a, b) => {                 // stream ids "ms-seq": is a after b?
    const [am, as] = a.split('-').map(Number), [bm, bs] = b.split('-').map(Number);
    return am > bm || (am === bm && as > bs);
  };
  function beep() {
    try {
      const ctx = new AudioContext(), osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.connect(gain); gain.connect(ctx.destination); osc.frequency.value = 880; gain.gain.value = 0.2;
      osc.start(); osc.frequency.setValueAtTime(660, ctx.currentTime + 0.25); osc.stop(ctx.currentTime + 0.6);
    } catch (e) { /* no sound before the first tap on some browsers: the banner and title remain */ }
  }
  function show(boxId, text, caseId) {
    const box = document.getElementById(boxId);
    document.getElementById(boxId + '-text').textContent = text;
    document.getElementById(boxId + '-link').href = live.dataset.caseUrl + caseId;
    box.hidden = false;
  }
  function alarm(event) {
    const topic = labels.topic[event.topic] || event.topic || '';
    const what = event.kind === 'escalated'
      ? `緊急: 相談中のケース #${event.case} で緊急の言葉がありました(${topic})`
      : `緊急: 新しい緊急ケース #${event.case}(${topic})`;
    alerts += 1;
    document.title = `(${alerts}) ⚠ ` + baseTitle;
    show('live-alert', what, event.case);
    document.getElementById('live-alert').dataset.shownAt = String(Date.now());   // read by the browser test
    beep();
  }
  function handle(id, event) {
    if (!newer(id, last)) return;          // already seen (stream and polling may overlap)
    last = id;
    const urgent = event.priority === 'urgent';
    if (event.kind === 'escalated' || (event.kind === 'new' && urgent)) alarm(event);
    else if (event.kind === 'assigned' && event.to === me && event.by !== me) {
      show('live-notice', `ケース #${event.case} があなたの担当になりました。`, event.case);
      beep();
    }
    document.dispatchEvent(new CustomEvent('inbox-live', {detail: event}));
  }
  document.getElementById('live-alert-close').addEventListener('click', () => {
    document.getElementById('live-alert').hidden = true; alerts = 0; document.title = baseTitle;
  });

  async function poll() {
    try {
      const r = await fetch(`${live.dataset.pollUrl}?after=${encodeURIComponent(last)}`);
      if (r.ok) { const data = await r.json(); data.events.forEach(e => handle(e.id, e)); }
    } catch (e) { /* offline: next round */ }
  }
  function startPolling() {
    if (pollTimer) return;
    state.textContent = '(自動更新: 3秒ごと)';
    poll(); pollTimer = setInterval(poll, 3000);
  }
  function stopPolling() { clearInterval(pollTimer); pollTimer = null; state.textContent = ''; }
  function connect() {
    if (!window.EventSource) { startPolling(); return; }
    source = new EventSource(`${live.dataset.streamUrl}?after=${encodeURIComponent(last)}`);
    source.onopen = stopPolling;
    source.onmessage = m => handle(m.lastEventId, JSON.parse(m.data));
    source.onerror = () => {
      // The server ends each stream after 25 s and the browser reconnects by itself; while it
      // cannot (network down, server busy: answered 204), poll, and try the stream again later.
      startPolling();
      if (source.readyState === EventSource.CLOSED && !retryTimer) {
        retryTimer = setTimeout(() => { retryTimer = null; connect(); }, 30000);
      }
    };
  }
  connect();
})();
