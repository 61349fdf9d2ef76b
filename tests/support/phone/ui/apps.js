'use strict';
// The apps: launcher, Settings, Contacts, Messages, Clock, and the placeholder screen of the
// apps this test phone does not have. Each screen is a render function of (screen, Nav) that
// builds its DOM from PhoneData on every render; screen.form / screen.params hold UI state.
(function () {
  const DB = window.PhoneData;
  const K = window.Kit;
  const {h, icon, t, RV} = K;

  const SETTINGS = 'com.android.settings';
  const CONTACTS = 'com.android.contacts';
  const MESSAGING = 'com.google.android.apps.messaging';
  const CLOCK = 'com.android.deskclock';
  const LAUNCHER = 'com.android.launcher3';

  // ------------------------------------------------------------------ packages
  const APPS = [
    {pkg: LAUNCHER, activity: '.Launcher', label: 'app_launcher', root: 'launcher', launchable: false},
    {pkg: SETTINGS, activity: '.Settings', label: 'app_settings', root: 'settings', launchable: true,
      icon: 'gear', color: '#5b6b7f', short: 'settings'},
    {pkg: CONTACTS, activity: '.activities.PeopleActivity', label: 'app_contacts', root: 'contacts',
      launchable: true, icon: 'person', color: '#1a73e8', short: 'contacts'},
    {pkg: MESSAGING, activity: '.ui.ConversationListActivity', label: 'app_messages', root: 'messages',
      launchable: true, icon: 'message', color: '#0b8043', short: 'messages'},
    {pkg: CLOCK, activity: '.DeskClock', label: 'app_clock', root: 'clock', launchable: true,
      icon: 'alarm', color: '#3c4fb5', short: 'clock'},
    {pkg: 'com.google.android.dialer', activity: '.extensions.GoogleDialtactsActivity', label: 'app_phone',
      root: 'unavailable', launchable: true, icon: 'phone', color: '#188038', short: 'phone'},
    {pkg: 'com.android.chrome', activity: 'com.google.android.apps.chrome.Main', label: 'app_chrome',
      root: 'unavailable', launchable: true, icon: 'chrome', color: '#ffffff', short: 'chrome'},
    {pkg: 'com.android.camera2', activity: 'com.android.camera.CameraLauncher', label: 'app_camera',
      root: 'unavailable', launchable: true, icon: 'camera', color: '#474747', short: 'camera'},
    {pkg: 'com.android.vending', activity: '.AssetBrowserActivity', label: 'app_play', root: 'unavailable',
      launchable: true, icon: 'play', color: '#ffffff', short: 'play_store'},
  ];
  // Installed but without a launcher icon (as `pm list packages` shows them).
  const SYSTEM_PACKAGES = ['com.android.systemui', 'com.android.providers.contacts',
    'com.android.providers.telephony', 'com.android.providers.settings', 'com.android.shell',
    'com.google.android.inputmethod.latin', 'android'];
  const appByPkg = (pkg) => APPS.find((a) => a.pkg === pkg) || null;

  // ------------------------------------------------------------------ time helpers
  const pad2 = (n) => String(n).padStart(2, '0');
  const hm = (hour, minute) => `${pad2(hour)}:${pad2(minute)}`;
  function nowHM() {
    const d = new Date();
    return hm(d.getHours(), d.getMinutes());
  }
  function dateLine(d) {
    d = d || new Date();
    const zh = window.I18N.lang() === 'zh';
    if (zh) {
      return `${d.getMonth() + 1}月${d.getDate()}日 ${t('days_long')[(d.getDay() + 6) % 7]}`;
    }
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    return `${t('days_abbr')[(d.getDay() + 6) % 7]}, ${months[d.getMonth()]} ${d.getDate()}`;
  }
  function shortStamp(ms) {
    const d = new Date(ms);
    const now = new Date();
    if (d.toDateString() === now.toDateString()) return hm(d.getHours(), d.getMinutes());
    if (window.I18N.lang() === 'zh') return `${d.getMonth() + 1}月${d.getDate()}日`;
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    return `${months[d.getMonth()]} ${d.getDate()}`;
  }

  // ------------------------------------------------------------------ contact sorting
  // Surname pinyin, so Chinese names sort among Latin ones the way Android's contacts do.
  const PINYIN = {
    张: 'zhang', 李: 'li', 王: 'wang', 刘: 'liu', 陈: 'chen', 杨: 'yang', 赵: 'zhao', 黄: 'huang',
    周: 'zhou', 吴: 'wu', 徐: 'xu', 孙: 'sun', 胡: 'hu', 朱: 'zhu', 高: 'gao', 林: 'lin', 何: 'he',
    郭: 'guo', 马: 'ma', 罗: 'luo', 梁: 'liang', 宋: 'song', 郑: 'zheng', 谢: 'xie', 韩: 'han',
    唐: 'tang', 冯: 'feng', 于: 'yu', 董: 'dong', 萧: 'xiao', 肖: 'xiao', 程: 'cheng', 曹: 'cao',
    袁: 'yuan', 邓: 'deng', 许: 'xu', 傅: 'fu', 沈: 'shen', 曾: 'zeng', 彭: 'peng', 吕: 'lv',
    苏: 'su', 卢: 'lu', 蒋: 'jiang', 蔡: 'cai', 贾: 'jia', 丁: 'ding', 魏: 'wei', 薛: 'xue', 叶: 'ye',
    阎: 'yan', 余: 'yu', 潘: 'pan', 杜: 'du', 戴: 'dai', 夏: 'xia', 钟: 'zhong', 汪: 'wang',
    田: 'tian', 任: 'ren', 姜: 'jiang', 范: 'fan', 方: 'fang', 石: 'shi', 姚: 'yao', 谭: 'tan',
    廖: 'liao', 邹: 'zou', 熊: 'xiong', 金: 'jin', 陆: 'lu', 郝: 'hao', 孔: 'kong', 白: 'bai',
    崔: 'cui', 康: 'kang', 毛: 'mao', 邱: 'qiu', 秦: 'qin', 江: 'jiang', 史: 'shi', 顾: 'gu',
    侯: 'hou', 邵: 'shao', 孟: 'meng', 龙: 'long', 万: 'wan', 段: 'duan', 钱: 'qian', 汤: 'tang',
    尹: 'yin', 黎: 'li', 易: 'yi', 常: 'chang', 武: 'wu', 乔: 'qiao', 贺: 'he', 赖: 'lai', 龚: 'gong',
    文: 'wen', 欧: 'ou', 安: 'an', 严: 'yan', 牛: 'niu', 温: 'wen', 芦: 'lu', 祝: 'zhu', 左: 'zuo',
    齐: 'qi', 包: 'bao', 章: 'zhang', 向: 'xiang', 鲁: 'lu', 葛: 'ge', 伍: 'wu', 韦: 'wei', 申: 'shen',
    闫: 'yan', 关: 'guan', 柳: 'liu', 宁: 'ning', 施: 'shi', 车: 'che', 倪: 'ni', 费: 'fei', 尤: 'you',
  };
  function sortKey(name) {
    const s = String(name || '').trim();
    const first = Array.from(s)[0] || '';
    if (PINYIN[first]) return PINYIN[first] + ' ' + s.slice(first.length);
    return s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  }
  function sectionOf(name) {
    const k = sortKey(name);
    const c = (k[0] || '#').toUpperCase();
    return /[A-Z]/.test(c) ? c : '#';
  }
  function sortedContacts() {
    return DB.contacts().map((c) => Object.assign(c, {key: sortKey(c.name), section: sectionOf(c.name)}))
      .sort((a, b) => {
        if ((a.section === '#') !== (b.section === '#')) return a.section === '#' ? 1 : -1;
        return a.key < b.key ? -1 : a.key > b.key ? 1 : a.id - b.id;
      });
  }
  function matches(c, q) {
    const s = q.trim().toLowerCase();
    if (!s) return true;
    if (c.name.toLowerCase().includes(s)) return true;
    if (sortKey(c.name).replace(/\s+/g, '').startsWith(s.replace(/\s+/g, ''))) return true;
    const dq = s.replace(/[^0-9]/g, '');
    return dq.length > 0 && /^[0-9+\s()-]+$/.test(s) &&
      c.numbers.some((n) => n.replace(/[^0-9]/g, '').includes(dq));
  }
  function nameForAddress(address) {
    const c = DB.contactForNumber(address);
    return c ? c.name : null;
  }

  // ------------------------------------------------------------------ screens
  const SCREENS = {};

  // Launcher ----------------------------------------------------------
  function appIcon(a, label, Nav, prefix) {
    return h('div', {class: 'app-icon', id: `${LAUNCHER}:id/${prefix}${a.short}`, text: label, desc: label,
      cls: 'android.widget.TextView', onTap: () => Nav.launch(a.pkg)},
    h('div', {class: 'app-bubble', 'aria-hidden': 'true', style: `background:${a.color}`},
      icon(a.icon, 'app-glyph' + (a.color === '#ffffff' ? ' full' : ''))),
    h('div', {class: 'app-label', 'aria-hidden': 'true'}, label));
  }

  SCREENS.launcher = {
    pkg: LAUNCHER, activity: '.Launcher',
    onSwipe(scr, dir, Nav) {
      if (dir === 'up') Nav.push('launcher_drawer');
    },
    render(scr, Nav) {
      const grid = APPS.filter((a) => a.launchable).map((a) => appIcon(a, t(a.label), Nav, 'app_'));
      return h('div', {class: 'screen launcher', id: `${LAUNCHER}:id/workspace`, cls: 'android.widget.FrameLayout'},
        h('div', {class: 'widget', id: `${LAUNCHER}:id/clock_widget`, cls: 'android.widget.LinearLayout'},
          h('div', {class: 'widget-time', 'data-clock': 'time', cls: 'android.widget.TextView',
            id: `${LAUNCHER}:id/widget_time`}, nowHM()),
          h('div', {class: 'widget-date', 'data-clock': 'date', cls: 'android.widget.TextView',
            id: `${LAUNCHER}:id/widget_date`}, dateLine())),
        h('div', {class: 'app-grid', id: `${LAUNCHER}:id/apps_grid`, cls: 'android.view.ViewGroup'}, grid));
    },
  };

  // All apps, opened by swiping up on the home screen (swipe down or Back closes it).
  SCREENS.launcher_drawer = {
    pkg: LAUNCHER, activity: '.Launcher',
    onSwipe(scr, dir, Nav) {
      if (dir === 'down') Nav.back();
    },
    render(scr, Nav) {
      const q = (scr.form.q || '').trim().toLowerCase();
      const apps = APPS.filter((a) => a.launchable).map((a) => ({a, label: t(a.label)}))
        .sort((x, y) => x.label.localeCompare(y.label))
        .filter((x) => !q || x.label.toLowerCase().includes(q) || window.I18N.t(x.a.label).toLowerCase().includes(q));
      return h('div', {class: 'screen drawer', id: `${LAUNCHER}:id/apps_view`, cls: 'android.widget.FrameLayout'},
        h('div', {class: 'drawer-handle', 'aria-hidden': 'true'}),
        K.searchField({id: `${LAUNCHER}:id/search_box`, hint: t('search_apps'), value: scr.form.q || '',
          clearId: `${LAUNCHER}:id/search_clear`,
          onInput: (v) => {
            scr.form.q = v;
            Nav.render();
          },
          onClear: () => {
            scr.form.q = '';
            Nav.render();
          },
          onEnter: () => (apps.length ? Nav.launch(apps[0].a.pkg) : Nav.blur())}),
        K.list(`${LAUNCHER}:id/apps_list_view`, h('div', {class: 'app-grid drawer-grid'},
          apps.map(({a, label}) => appIcon(a, label, Nav, 'drawer_app_'))), 'drawer-list'));
    },
  };

  SCREENS.unavailable = {
    activity: null,
    render(scr, Nav) {
      const app = appByPkg(scr.pkg) || {label: 'app_launcher', icon: 'info', color: '#777'};
      const name = t(app.label);
      return h('div', {class: 'screen unavailable', id: `${scr.pkg}:id/content`, cls: 'android.widget.FrameLayout'},
        K.topBar({pkg: scr.pkg, title: name, up: () => Nav.back()}),
        h('div', {class: 'unavailable-body'},
          h('div', {class: 'app-bubble big', 'aria-hidden': 'true', style: `background:${app.color}`},
            icon(app.icon, 'app-glyph' + (app.color === '#ffffff' ? ' full' : ''))),
          h('div', {class: 'unavailable-title', id: `${scr.pkg}:id/unavailable_title`, cls: 'android.widget.TextView'},
            t('unavailable_title', {app: name})),
          h('div', {class: 'unavailable-text', id: `${scr.pkg}:id/unavailable_message`,
            cls: 'android.widget.TextView'}, t('unavailable_body', {app: name})),
          K.button({id: `${scr.pkg}:id/go_home`, text: t('home'), kind: 'tonal', onTap: () => Nav.home()})));
    },
  };

  // Settings ----------------------------------------------------------
  const sid = (x) => `${SETTINGS}:id/${x}`;
  const BATTERY_LEVEL = 80;
  const SETTINGS_INDEX = [
    {key: 'network_internet', page: 'settings_network', icon: 'network', words: 'wifi wlan network internet'},
    {key: 'wifi', page: 'settings_network', icon: 'wifi_line', crumb: 'network_internet', words: 'wifi wlan wireless'},
    {key: 'airplane_mode', page: 'settings_network', icon: 'airplane', crumb: 'network_internet',
      words: 'airplane flight plane'},
    {key: 'connected_devices', page: 'settings_connected', icon: 'devices', words: 'bluetooth'},
    {key: 'bluetooth', page: 'settings_connected', icon: 'bluetooth', crumb: 'connected_devices',
      words: 'bluetooth'},
    {key: 'battery', page: 'settings_battery', icon: 'battery', words: 'battery power'},
    {key: 'battery_saver', page: 'settings_battery', icon: 'battery', crumb: 'battery', words: 'battery saver power low'},
    {key: 'battery_percentage', page: 'settings_battery', icon: 'battery', crumb: 'battery', words: 'battery percentage'},
    {key: 'sound', page: 'settings_sound', icon: 'volume', words: 'sound volume vibration'},
    {key: 'media_volume', page: 'settings_sound', icon: 'volume', crumb: 'sound', words: 'media volume music'},
    {key: 'ring_volume', page: 'settings_sound', icon: 'phone', crumb: 'sound', words: 'ring volume ringtone'},
    {key: 'dnd', page: 'settings_sound', icon: 'dnd', crumb: 'sound', words: 'do not disturb dnd silent'},
    {key: 'display', page: 'settings_display', icon: 'display', words: 'screen brightness'},
    {key: 'brightness', page: 'settings_display', icon: 'brightness', crumb: 'display',
      words: 'brightness screen light'},
    {key: 'adaptive_brightness', page: 'settings_display', icon: 'brightness', crumb: 'display',
      words: 'adaptive auto brightness'},
    {key: 'dark_theme', page: 'settings_display', icon: 'dark', crumb: 'display', words: 'dark night theme'},
    {key: 'system', page: 'settings_system', icon: 'system', words: 'system language'},
    {key: 'languages', page: 'settings_languages', icon: 'language', crumb: 'system',
      words: 'language locale 语言 languages'},
    {key: 'about_phone', page: 'settings_about', icon: 'info', words: 'about phone model version'},
    {key: 'model', page: 'settings_about', icon: 'info', crumb: 'about_phone', words: 'model device'},
    {key: 'android_version', page: 'settings_about', icon: 'info', crumb: 'about_phone',
      words: 'android version'},
    {key: 'build_number', page: 'settings_about', icon: 'info', crumb: 'about_phone', words: 'build number'},
  ];
  const norm = (s) => String(s || '').toLowerCase().replace(/[\s\-_&·,.]+/g, '');

  function settingsPage(scr, Nav, titleKey, rows) {
    return h('div', {class: 'screen', id: sid('settings_page'), cls: 'android.widget.FrameLayout'},
      K.topBar({pkg: SETTINGS, title: t(titleKey), up: () => Nav.back(), titleId: sid('collapsing_toolbar_title')}),
      K.list(sid('recycler_view'), rows));
  }

  SCREENS.settings = {
    pkg: SETTINGS, activity: '.Settings',
    render(scr, Nav) {
      const q = scr.form.q || '';
      const g = (k) => DB.flag('global', k);
      let rows;
      if (!q.trim()) {
        const airplane = g('airplane_mode_on');
        rows = [
          K.prefRow({id: sid('network_internet'), icon: 'network', title: t('network_internet'),
            summary: airplane ? t('airplane_mode') + ' · ' + t('on') : t('network_summary'),
            onTap: () => Nav.push('settings_network')}),
          K.prefRow({id: sid('connected_devices'), icon: 'devices', title: t('connected_devices'),
            summary: t('connected_summary'), onTap: () => Nav.push('settings_connected')}),
          K.prefRow({id: sid('battery'), icon: 'battery', title: t('battery'),
            summary: BATTERY_LEVEL + '%' + (DB.flag('global', 'low_power') ? ' · ' + t('battery_saver') : ''),
            onTap: () => Nav.push('settings_battery')}),
          K.prefRow({id: sid('sound'), icon: 'volume', title: t('sound'), summary: t('sound_summary'),
            onTap: () => Nav.push('settings_sound')}),
          K.prefRow({id: sid('display'), icon: 'display', title: t('display'), summary: t('display_summary'),
            onTap: () => Nav.push('settings_display')}),
          K.prefRow({id: sid('system'), icon: 'system', title: t('system'), summary: t('system_summary'),
            onTap: () => Nav.push('settings_system')}),
          K.prefRow({id: sid('about_phone'), icon: 'info', title: t('about_phone'),
            summary: DB.getprop('ro.product.model') || '', onTap: () => Nav.push('settings_about')}),
        ];
      } else {
        const nq = norm(q);
        // Match the title in the UI language, the English title, or a keyword ("wifi" finds WLAN).
        const hits = SETTINGS_INDEX.filter((e) => norm(t(e.key)).includes(nq) || norm(EN_TITLES[e.key]).includes(nq) ||
          e.words.split(' ').some((w) => norm(w).includes(nq)));
        rows = hits.length ? hits.map((e) => K.prefRow({id: sid('result_' + e.key), icon: e.icon,
          title: t(e.key), summary: e.crumb ? t('settings') + ' > ' + t(e.crumb) : t('settings'),
          onTap: () => Nav.push(e.page)})) :
          [K.emptyState(sid('no_results'), t('no_results'))];
      }
      return h('div', {class: 'screen settings-home', id: sid('main_content'), cls: 'android.widget.FrameLayout'},
        K.largeTitle(SETTINGS, t('settings'), sid('homepage_title')),
        K.searchField({id: sid('search_field'), hint: t('search_settings'), value: q,
          clearId: sid('search_clear'), extraClass: 'settings-search',
          onInput: (v) => {
            scr.form.q = v;
            Nav.render();
          },
          onClear: () => {
            scr.form.q = '';
            Nav.render();
          },
          onEnter: () => Nav.blur()}),
        K.list(sid('recycler_view'), rows));
    },
  };
  const EN_TITLES = {};

  SCREENS.settings_network = {
    pkg: SETTINGS, activity: '.SubSettings',
    render(scr, Nav) {
      const wifi = DB.flag('global', 'wifi_on');
      const airplane = DB.flag('global', 'airplane_mode_on');
      return settingsPage(scr, Nav, 'network_internet', [
        K.prefRow({id: sid('wifi'), icon: 'wifi_line', title: t('wifi'),
          summary: wifi ? t('wifi_on_summary') : t('wifi_off_summary'),
          sw: {id: sid('wifi_switch'), checked: wifi},
          onTap: () => DB.settingsPut('global', 'wifi_on', wifi ? '0' : '1')}),
        K.prefRow({id: sid('airplane_mode'), icon: 'airplane', title: t('airplane_mode'),
          summary: t('airplane_summary'), sw: {id: sid('airplane_switch'), checked: airplane},
          onTap: () => DB.setAirplaneMode(!airplane)}),
      ]);
    },
  };

  SCREENS.settings_connected = {
    pkg: SETTINGS, activity: '.SubSettings',
    render(scr, Nav) {
      const bt = DB.flag('global', 'bluetooth_on');
      return settingsPage(scr, Nav, 'connected_devices', [
        K.prefRow({id: sid('bluetooth'), icon: 'bluetooth', title: t('bluetooth'),
          summary: bt ? t('bluetooth_on_summary', {name: DB.getprop('ro.product.model') || ''}) :
            t('bluetooth_off_summary'),
          sw: {id: sid('bluetooth_switch'), checked: bt},
          onTap: () => DB.settingsPut('global', 'bluetooth_on', bt ? '0' : '1')}),
        K.prefRow({id: sid('pair_new_device'), icon: 'add', title: t('pair_new'), disabled: !bt,
          onTap: () => (bt ? Nav.toast(t('unavailable_action')) : null)}),
      ]);
    },
  };

  function intSetting(ns, key, max, dflt) {
    const v = parseInt(DB.settingsGet(ns, key) || String(dflt), 10);
    return Number.isFinite(v) ? Math.max(0, Math.min(max, v)) : dflt;
  }
  const brightnessValue = () => intSetting('system', 'screen_brightness', 255, 0);
  // A SeekBar: a tap or a drag on the track sets the value at that position.
  function slider(id, value, max, desc, onValue) {
    const pct = (value / max) * 100;
    return h('div', {class: 'slider', id, cls: 'android.widget.SeekBar', desc,
      onSlide: (fraction) => {
        const v = Math.round(Math.max(0, Math.min(1, fraction)) * max);
        if (v !== value) onValue(v);
      },
      'aria-valuenow': String(value), 'aria-valuemin': '0', 'aria-valuemax': String(max)},
    h('div', {class: 'slider-track', 'aria-hidden': 'true'},
      h('div', {class: 'slider-fill', style: `width:${pct}%`}),
      h('div', {class: 'slider-thumb', style: `left:${pct}%`})));
  }
  const setBrightness = (v) => DB.settingsPut('system', 'screen_brightness', String(v));
  function brightnessSlider(id) {
    return slider(id, brightnessValue(), 255, t('brightness'), setBrightness);
  }
  // A preference with a title, its value on the right, and a slider under them.
  function sliderPref(o) {
    return h('div', {class: 'pref slider-pref', id: o.id, cls: 'android.widget.LinearLayout'},
      h('div', {class: 'pref-icon', 'aria-hidden': 'true'}, icon(o.icon)),
      h('div', {class: 'pref-text'},
        h('div', {class: 'pref-title-row'},
          h('div', {class: 'pref-title', id: 'android:id/title', cls: 'android.widget.TextView'}, o.title),
          h('div', {class: 'pref-value', id: o.valueId, cls: 'android.widget.TextView'}, o.valueText)),
        o.slider));
  }

  SCREENS.settings_display = {
    pkg: SETTINGS, activity: '.SubSettings',
    render(scr, Nav) {
      const v = brightnessValue();
      const adaptive = DB.settingsGet('system', 'screen_brightness_mode') === '1';
      const dark = DB.settingsGet('secure', 'ui_night_mode') === '2';
      return settingsPage(scr, Nav, 'display', [
        sliderPref({id: sid('brightness'), icon: 'brightness', title: t('brightness'),
          valueId: sid('brightness_value'), valueText: String(v),
          slider: brightnessSlider(sid('brightness_seekbar'))}),
        K.prefRow({id: sid('adaptive_brightness'), icon: 'brightness', title: t('adaptive_brightness'),
          summary: t('adaptive_summary'), sw: {id: sid('adaptive_brightness_switch'), checked: adaptive},
          onTap: () => DB.settingsPut('system', 'screen_brightness_mode', adaptive ? '0' : '1')}),
        K.prefRow({id: sid('dark_theme'), icon: 'dark', title: t('dark_theme'), summary: t('dark_summary'),
          sw: {id: sid('dark_theme_switch'), checked: dark},
          onTap: () => DB.settingsPut('secure', 'ui_night_mode', dark ? '1' : '2')}),
      ]);
    },
  };

  SCREENS.settings_battery = {
    pkg: SETTINGS, activity: '.SubSettings',
    render(scr, Nav) {
      const saver = DB.flag('global', 'low_power');
      const pct = DB.settingsGet('system', 'status_bar_show_battery_percent') === '1';
      return settingsPage(scr, Nav, 'battery', [
        h('div', {class: 'battery-head'},
          h('div', {class: 'battery-level', id: sid('battery_level'), cls: 'android.widget.TextView'},
            BATTERY_LEVEL + '%'),
          h('div', {class: 'pref-summary', id: sid('battery_estimate'), cls: 'android.widget.TextView'},
            t('battery_estimate'))),
        K.prefRow({id: sid('battery_saver'), icon: 'battery', title: t('battery_saver'),
          summary: t('battery_saver_summary'), sw: {id: sid('battery_saver_switch'), checked: saver},
          onTap: () => DB.settingsPut('global', 'low_power', saver ? '0' : '1')}),
        K.prefRow({id: sid('battery_percentage'), icon: 'battery', title: t('battery_percentage'),
          summary: t('battery_percentage_summary'), sw: {id: sid('battery_percentage_switch'), checked: pct},
          onTap: () => DB.settingsPut('system', 'status_bar_show_battery_percent', pct ? '0' : '1')}),
      ]);
    },
  };

  SCREENS.settings_sound = {
    pkg: SETTINGS, activity: '.SubSettings',
    render(scr, Nav) {
      const vol = intSetting('system', 'volume_music', 15, 7);
      const ring = intSetting('system', 'volume_ring', 7, 5);
      const dnd = DB.settingsGet('global', 'zen_mode') !== null && DB.settingsGet('global', 'zen_mode') !== '0';
      return settingsPage(scr, Nav, 'sound', [
        sliderPref({id: sid('media_volume'), icon: 'volume', title: t('media_volume'),
          valueId: sid('media_volume_value'), valueText: String(vol),
          slider: slider(sid('media_volume_seekbar'), vol, 15, t('media_volume'),
            (v) => DB.settingsPut('system', 'volume_music', String(v)))}),
        sliderPref({id: sid('ring_volume'), icon: 'phone', title: t('ring_volume'),
          valueId: sid('ring_volume_value'), valueText: String(ring),
          slider: slider(sid('ring_volume_seekbar'), ring, 7, t('ring_volume'),
            (v) => DB.settingsPut('system', 'volume_ring', String(v)))}),
        K.prefRow({id: sid('do_not_disturb'), icon: 'dnd', title: t('dnd'), summary: dnd ? t('on') : t('off'),
          sw: {id: sid('do_not_disturb_switch'), checked: dnd},
          onTap: () => DB.settingsPut('global', 'zen_mode', dnd ? '0' : '1')}),
      ]);
    },
  };

  SCREENS.settings_system = {
    pkg: SETTINGS, activity: '.SubSettings',
    render(scr, Nav) {
      return settingsPage(scr, Nav, 'system', [
        K.prefRow({id: sid('languages'), icon: 'language', title: t('languages'),
          summary: window.I18N.languageName(DB.getprop('persist.sys.locale') || 'en-US'),
          onTap: () => Nav.push('settings_languages')}),
      ]);
    },
  };

  SCREENS.settings_languages = {
    pkg: SETTINGS, activity: '.SubSettings',
    render(scr, Nav) {
      const cur = String(DB.getprop('persist.sys.locale') || 'en-US').toLowerCase().replace('_', '-');
      const rows = window.I18N.LANGUAGES.map((l) => {
        const on = cur === l.tag.toLowerCase() || (cur.split('-')[0] === l.tag.toLowerCase().split('-')[0] &&
          !window.I18N.LANGUAGES.some((x) => x.tag.toLowerCase() === cur));
        return K.prefRow({id: sid('locale_' + l.tag.replace('-', '_')), title: l.name, noIcon: true,
          radio: on, radioId: sid('locale_radio_' + l.tag.replace('-', '_')),
          onTap: () => {
            DB.settingsPut('system', 'system_locales', l.tag, true);
            DB.setprop('persist.sys.locale', l.tag);
          }});
      });
      return settingsPage(scr, Nav, 'languages', [
        h('div', {class: 'pref-hint', id: sid('language_hint'), cls: 'android.widget.TextView'}, t('language_hint')),
      ].concat(rows));
    },
  };

  SCREENS.settings_about = {
    pkg: SETTINGS, activity: '.SubSettings',
    render(scr, Nav) {
      const p = (k) => DB.getprop(k) || '';
      const info = (key, value) => K.prefRow({id: sid('about_' + key), title: t(key), summary: value,
        noIcon: true, summaryId: sid(key + '_value')});
      return settingsPage(scr, Nav, 'about_phone', [
        info('device_name', DB.settingsGet('global', 'device_name') || p('ro.product.model')),
        info('model', p('ro.product.model')),
        info('manufacturer', p('ro.product.manufacturer')),
        info('android_version', p('ro.build.version.release')),
        info('build_number', p('ro.build.display.id')),
      ]);
    },
  };

  // Contacts ----------------------------------------------------------
  const cid = (x) => `${CONTACTS}:id/${x}`;
  function confirmDeleteContact(Nav, c, after) {
    Nav.dialog({
      title: t('delete_contact_q'), body: t('delete_contact_body', {name: c.name}),
      buttons: [
        {id: 'android:id/button2', text: t('cancel'), onTap: () => Nav.closeDialog()},
        {id: 'android:id/button1', text: t('delete'), onTap: () => {
          Nav.closeDialog();
          DB.deleteContact(c.id);
          if (after) after();
        }},
      ],
    });
  }

  SCREENS.contacts = {
    pkg: CONTACTS, activity: '.activities.PeopleActivity',
    render(scr, Nav) {
      const q = scr.form.q || '';
      const all = sortedContacts();
      const shown = all.filter((c) => matches(c, q));
      const kids = [];
      let last = null;
      for (const c of shown) {
        if (!q.trim() && c.section !== last) {
          kids.push(h('div', {class: 'section-header', id: cid('section_header'), cls: 'android.widget.TextView'},
            c.section));
          last = c.section;
        }
        kids.push(h('div', {class: 'contact-row', id: cid('contact_row'), desc: c.name,
          cls: 'android.widget.LinearLayout',
          onTap: () => Nav.push('contact_detail', {id: c.id}),
          onLong: (pt) => Nav.menu({at: pt, items: [
            {id: cid('menu_delete'), text: t('delete'), onTap: () => {
              Nav.closeMenu();
              confirmDeleteContact(Nav, c);
            }},
          ]})},
        K.avatar(c.name),
        h('div', {class: 'contact-text'},
          h('span', {class: 'contact-name', id: cid('contact_name'), cls: 'android.widget.TextView'}, c.name),
          q.trim() && c.numbers[0] ? h('span', {class: 'contact-number', id: cid('contact_number'),
            cls: 'android.widget.TextView'}, c.numbers[0]) : null)));
      }
      if (!shown.length) {
        kids.push(K.emptyState(cid('empty'), all.length ? t('no_matches') : t('no_contacts')));
      }
      return h('div', {class: 'screen contacts', id: cid('content'), cls: 'android.widget.FrameLayout'},
        h('div', {class: 'search-bar'},
          K.searchField({id: cid('search_field'), hint: t('search_contacts'), value: q, clearId: cid('search_clear'),
            onInput: (v) => {
              scr.form.q = v;
              Nav.render();
            },
            onClear: () => {
              scr.form.q = '';
              Nav.render();
            },
            onEnter: () => Nav.blur()})),
        K.list(cid('contact_list'), kids, 'with-fab'),
        K.fab({id: cid('floating_action_button'), desc: t('create_contact'),
          onTap: () => Nav.push('contact_editor', {})}));
    },
  };

  SCREENS.contact_detail = {
    pkg: CONTACTS, activity: '.activities.QuickContactActivity',
    render(scr, Nav) {
      const c = DB.contact(scr.params.id);
      if (!c) {
        return h('div', {class: 'screen'}, K.topBar({pkg: CONTACTS, title: '', up: () => Nav.back()}),
          K.emptyState(cid('empty'), t('no_contacts')));
      }
      const number = c.numbers[0] || '';
      return h('div', {class: 'screen contact-detail', id: cid('content'), cls: 'android.widget.FrameLayout'},
        K.topBar({pkg: CONTACTS, title: '', up: () => Nav.back(), actions: [
          K.iconButton('edit', {id: cid('menu_edit'), desc: t('edit_contact'),
            onTap: () => Nav.push('contact_editor', {id: c.id})}),
          K.iconButton('more', {id: cid('menu_more'), desc: t('more_options'), onTap: (ev) => Nav.menu({
            at: {x: ev.clientX, y: ev.clientY}, items: [
              {id: cid('menu_delete'), text: t('delete'), onTap: () => {
                Nav.closeMenu();
                confirmDeleteContact(Nav, c, () => Nav.back());
              }},
            ]})}),
        ]}),
        h('div', {class: 'detail-scroll', scroll: true, id: cid('detail_scroll'), cls: 'android.widget.ScrollView'},
          h('div', {class: 'detail-head'},
            K.avatar(c.name, true),
            h('div', {class: 'detail-name', id: cid('large_title'), cls: 'android.widget.TextView'}, c.name)),
          h('div', {class: 'detail-actions'},
            K.button({id: cid('call_button'), text: t('call'), icon: 'phone', kind: 'tonal',
              disabled: !number, onTap: () => Nav.toast(t('unavailable_action'))}),
            K.button({id: cid('message_button'), text: t('message'), icon: 'message', kind: 'tonal',
              disabled: !number, onTap: () => Nav.openConversation(number)})),
          number ? h('div', {class: 'detail-card', id: cid('phone_row'), cls: 'android.widget.LinearLayout'},
            h('div', {class: 'pref-icon', 'aria-hidden': 'true'}, icon('phone')),
            h('div', {class: 'pref-text'},
              h('div', {class: 'pref-title', id: cid('phone_number'), cls: 'android.widget.TextView'}, number),
              h('div', {class: 'pref-summary', id: cid('phone_type'), cls: 'android.widget.TextView'},
                t('mobile')))) : null));
    },
  };

  SCREENS.contact_editor = {
    pkg: CONTACTS, activity: '.activities.ContactEditorActivity',
    autofocus: cid('name_field'),
    init(scr) {
      const c = scr.params.id ? DB.contact(scr.params.id) : null;
      scr.form.name = c ? c.name : (scr.params.name || '');
      scr.form.phone = c ? (c.numbers[0] || '') : (scr.params.phone || '');
    },
    render(scr, Nav) {
      const f = scr.form;
      const editing = !!scr.params.id;
      const save = () => {
        const name = (f.name || '').trim();
        const phone = (f.phone || '').trim();
        if (!name && !phone) {
          f.error = t('need_name_or_phone');
          Nav.render();
          return;
        }
        if (editing) {
          DB.updateContact(scr.params.id, name || phone, phone);
          Nav.back();
        } else {
          const id = DB.createContact(name || phone, phone);
          Nav.replace('contact_detail', {id});
        }
      };
      return h('div', {class: 'screen editor', id: cid('content'), cls: 'android.widget.FrameLayout'},
        K.topBar({pkg: CONTACTS, title: editing ? t('edit_contact') : t('create_contact'), upIcon: 'close',
          upDesc: t('cancel'), up: () => Nav.back(), actions: [
            K.button({id: cid('save'), text: t('save'), kind: 'filled small', onTap: save}),
          ]}),
        h('div', {class: 'form', scroll: true, id: cid('editor_form'), cls: 'android.widget.ScrollView'},
          h('div', {class: 'form-row'}, h('div', {class: 'form-icon', 'aria-hidden': 'true'}, icon('person')),
            K.textField({id: cid('name_field'), hint: t('name'), value: f.name,
              onInput: (v) => {
                f.name = v;
                f.error = null;
                Nav.render();
              },
              onEnter: () => Nav.focus(cid('phone_field'))})),
          h('div', {class: 'form-row'}, h('div', {class: 'form-icon', 'aria-hidden': 'true'}, icon('phone')),
            K.textField({id: cid('phone_field'), hint: t('phone'), value: f.phone, type: 'tel',
              onInput: (v) => {
                f.phone = v;
                f.error = null;
                Nav.render();
              },
              onEnter: () => Nav.blur()})),
          f.error ? h('div', {class: 'form-error', id: cid('error'), cls: 'android.widget.TextView'}, f.error) :
            null));
    },
  };

  // Messages ----------------------------------------------------------
  const mid = (x) => `${MESSAGING}:id/${x}`;
  function threads() {
    const by = new Map();
    for (const m of DB.messages()) {
      const th = by.get(m.thread_id) || {id: m.thread_id, address: m.address, last: null, unread: 0};
      if (!th.last || m.date >= th.last.date) th.last = m;
      if (m.type === 1 && m.read !== 1) th.unread++;
      by.set(m.thread_id, th);
    }
    return Array.from(by.values()).sort((a, b) => b.last.date - a.last.date);
  }
  // A typed recipient: a contact's name (exact, then unique prefix) or a phone number.
  function resolveRecipient(text) {
    const s = String(text || '').trim();
    if (!s) return null;
    const cs = DB.contacts();
    const exact = cs.filter((c) => c.name.toLowerCase() === s.toLowerCase() && c.numbers.length);
    if (exact.length) return exact[0].numbers[0];
    if (/^\+?[0-9][0-9\s()./-]*$/.test(s) && s.replace(/[^0-9]/g, '').length >= 3) return s;
    const pre = cs.filter((c) => c.name.toLowerCase().startsWith(s.toLowerCase()) && c.numbers.length);
    if (pre.length === 1) return pre[0].numbers[0];
    return null;
  }

  function composeBar(scr, Nav, onSend) {
    const msg = scr.form.msg || '';
    return h('div', {class: 'compose-bar', id: mid('compose_bar'), cls: 'android.widget.LinearLayout'},
      h('label', {class: 'compose-field'},
        h('input', {type: 'text', id: mid('compose_message_text'), placeholder: t('text_message'), value: msg,
          autocomplete: 'off', spellcheck: 'false', class: 'compose-input', cls: 'android.widget.EditText',
          onInput: (v) => {
            scr.form.msg = v;
            Nav.render();
          }})),
      h('button', {class: 'send-btn' + (msg.trim() ? '' : ' off'), id: mid('send_message_button'),
        desc: t('send_sms'), cls: 'android.widget.ImageButton', disabled: !msg.trim(),
        onTap: () => onSend(msg)}, icon('send'), h('span', {class: 'send-label', 'aria-hidden': 'true'}, 'SMS')));
  }

  SCREENS.messages = {
    pkg: MESSAGING, activity: '.ui.ConversationListActivity',
    render(scr, Nav) {
      const rows = threads().map((th) => {
        const name = nameForAddress(th.address) || th.address;
        const unread = th.unread > 0;
        return h('div', {class: 'conv-row' + (unread ? ' unread' : ''), id: mid('conversation_row'), desc: name,
          cls: 'android.widget.LinearLayout', onTap: () => Nav.push('conversation', {address: th.address}),
          onLong: (pt) => Nav.menu({at: pt, items: [
            {id: mid('menu_delete'), text: t('delete'), onTap: () => {
              Nav.closeMenu();
              Nav.dialog({title: t('delete_conversation_q'), body: t('delete_conversation_body'), buttons: [
                {id: 'android:id/button2', text: t('cancel'), onTap: () => Nav.closeDialog()},
                {id: 'android:id/button1', text: t('delete'), onTap: () => {
                  Nav.closeDialog();
                  DB.deleteThread(th.id);
                }},
              ]});
            }},
          ]})},
        K.avatar(name),
        h('div', {class: 'conv-text'},
          h('div', {class: 'conv-top'},
            h('span', {class: 'conv-name', id: mid('conversation_name'), cls: 'android.widget.TextView'}, name),
            h('span', {class: 'conv-time', id: mid('conversation_timestamp'), cls: 'android.widget.TextView'},
              shortStamp(th.last.date))),
          h('div', {class: 'conv-snippet', id: mid('conversation_snippet'), cls: 'android.widget.TextView'},
            (th.last.type === 2 ? t('you') + ': ' : '') + th.last.body)));
      });
      return h('div', {class: 'screen messages', id: mid('content'), cls: 'android.widget.FrameLayout'},
        K.topBar({pkg: MESSAGING, title: t('messages'), cls: 'center'}),
        K.list(mid('conversation_list'), rows.length ? rows :
          [K.emptyState(mid('empty'), t('no_conversations'))], 'with-fab'),
        K.fab({id: mid('start_chat_fab'), text: t('start_chat'), icon: 'message',
          onTap: () => Nav.push('compose', {})}));
    },
  };

  SCREENS.compose = {
    pkg: MESSAGING, activity: '.ui.conversation.NewConversationActivity',
    autofocus: mid('recipient_text_view'),
    init(scr) {
      scr.form.to = scr.params.to || '';
      scr.form.msg = '';
    },
    render(scr, Nav) {
      const f = scr.form;
      const q = (f.to || '').trim();
      const cs = sortedContacts().filter((c) => c.numbers.length && (!q || matches(c, q)));
      const send = (text) => {
        const number = resolveRecipient(f.to);
        if (!number) {
          f.error = t('bad_recipient');
          Nav.render();
          return;
        }
        DB.sendSms(number, text);
        Nav.replace('conversation', {address: number});
      };
      const rows = [];
      const typedNumber = /^\+?[0-9][0-9\s()./-]*$/.test(q) && q.replace(/[^0-9]/g, '').length >= 3;
      if (typedNumber) {
        rows.push(h('div', {class: 'contact-row', id: mid('send_to_number'), cls: 'android.widget.LinearLayout',
          onTap: () => Nav.replace('conversation', {address: q, draft: f.msg})},
        h('div', {class: 'avatar', 'aria-hidden': 'true'}, '#'),
        h('div', {class: 'contact-text'},
          h('span', {class: 'contact-name', id: mid('contact_name'), cls: 'android.widget.TextView'},
            t('send_to', {to: q})))));
      }
      for (const c of cs) {
        rows.push(h('div', {class: 'contact-row', id: mid('contact_suggestion'), desc: c.name,
          cls: 'android.widget.LinearLayout',
          onTap: () => Nav.replace('conversation', {address: c.numbers[0], draft: f.msg})},
        K.avatar(c.name),
        h('div', {class: 'contact-text'},
          h('span', {class: 'contact-name', id: mid('contact_name'), cls: 'android.widget.TextView'}, c.name),
          h('span', {class: 'contact-number', id: mid('contact_number'), cls: 'android.widget.TextView'},
            c.numbers[0]))));
      }
      return h('div', {class: 'screen compose', id: mid('content'), cls: 'android.widget.FrameLayout'},
        K.topBar({pkg: MESSAGING, title: t('new_conversation'), up: () => Nav.back()}),
        h('div', {class: 'to-row'},
          h('span', {class: 'to-label', id: mid('to_label'), cls: 'android.widget.TextView'}, t('to')),
          h('input', {type: 'text', id: mid('recipient_text_view'), placeholder: t('to_hint'), value: f.to,
            autocomplete: 'off', spellcheck: 'false', class: 'to-input', cls: 'android.widget.EditText',
            onInput: (v) => {
              f.to = v;
              f.error = null;
              Nav.render();
            },
            onEnter: () => Nav.focus(mid('compose_message_text'))})),
        f.error ? h('div', {class: 'form-error', id: mid('error'), cls: 'android.widget.TextView'}, f.error) : null,
        K.list(mid('contact_list'), rows),
        composeBar(scr, Nav, send));
    },
  };

  SCREENS.conversation = {
    pkg: MESSAGING, activity: '.ui.conversation.ConversationActivity',
    init(scr) {
      scr.form.msg = scr.params.draft || '';
      scr.stickBottom = true;
    },
    render(scr, Nav) {
      const address = scr.params.address;
      const name = nameForAddress(address);
      const tid = DB.threadIdFor(address);
      if (tid !== null && !Nav.preview) DB.markThreadRead(tid);
      const msgs = DB.messages().filter((m) => m.thread_id === tid).sort((a, b) => a.date - b.date || a.id - b.id);
      const bubbles = msgs.map((m) => h('div', {class: 'bubble-row ' + (m.type === 1 ? 'in' : 'out')},
        h('div', {class: 'bubble', id: mid('message_text'), cls: 'android.widget.TextView'}, m.body),
        h('div', {class: 'bubble-meta', id: mid('message_status'), cls: 'android.widget.TextView'},
          (m.type === 2 ? t('sent') + ' · ' : '') + shortStamp(m.date))));
      const send = (text) => {
        DB.sendSms(address, text);
        scr.form.msg = '';
        scr.stickBottom = true;
        Nav.render();
      };
      return h('div', {class: 'screen conversation', id: mid('content'), cls: 'android.widget.FrameLayout'},
        K.topBar({pkg: MESSAGING, title: name || address, subtitle: name ? address : null, up: () => Nav.back(),
          titleId: mid('conversation_title')}),
        K.list(mid('messages_list'), bubbles, 'bubbles'),
        composeBar(scr, Nav, send));
    },
  };

  // Clock ---------------------------------------------------------------
  const kid = (x) => `${CLOCK}:id/${x}`;
  function daysText(mask) {
    if (!mask) return t('not_scheduled');
    if (mask === 127) return t('every_day');
    if (mask === 31) return t('weekdays');
    if (mask === 96) return t('weekends');
    const ab = t('days_abbr');
    return ab.filter((_, i) => mask & (1 << i)).join(window.I18N.lang() === 'zh' ? '、' : ', ');
  }

  SCREENS.clock = {
    pkg: CLOCK, activity: '.DeskClock',
    render(scr, Nav) {
      const tab = scr.params.tab || 'alarm';
      let body;
      if (tab === 'alarm') {
        const alarms = DB.alarms().sort((a, b) => a.hour * 60 + a.minutes - (b.hour * 60 + b.minutes) || a.id - b.id);
        const rows = alarms.map((a) => {
          const time = hm(a.hour, a.minutes);
          return h('div', {class: 'alarm-row' + (a.enabled ? ' on' : ''), id: kid('alarm_row'),
            cls: 'android.widget.LinearLayout', onTap: () => Nav.push('alarm_edit', {id: a.id})},
          h('div', {class: 'alarm-text'},
            a.label ? h('div', {class: 'alarm-label', id: kid('label'), cls: 'android.widget.TextView'}, a.label) :
              null,
            h('div', {class: 'alarm-time', id: kid('digital_clock'), cls: 'android.widget.TextView'}, time),
            h('div', {class: 'alarm-days', id: kid('days'), cls: 'android.widget.TextView'}, daysText(a.daysofweek))),
          K.switchEl(kid('onoff'), !!a.enabled, t('alarm_desc', {time}) + (a.label ? ' ' + a.label : ''),
            () => DB.saveAlarm(a.id, {enabled: a.enabled ? 0 : 1})));
        });
        body = [
          K.largeTitle(CLOCK, t('alarm'), kid('title')),
          K.list(kid('alarm_recycler_view'), rows.length ? rows : [K.emptyState(kid('empty'), t('no_alarms'))],
            'with-fab'),
          K.fab({id: kid('fab'), desc: t('add_alarm'), onTap: () => Nav.push('alarm_edit', {})}),
        ];
      } else {
        body = [
          K.largeTitle(CLOCK, t('clock'), kid('title')),
          h('div', {class: 'big-clock'},
            h('div', {class: 'big-time', id: kid('digital_clock'), 'data-clock': 'time',
              cls: 'android.widget.TextView'}, nowHM()),
            h('div', {class: 'big-date', id: kid('date'), 'data-clock': 'date', cls: 'android.widget.TextView'},
              dateLine())),
        ];
      }
      const tabBtn = (name, label, ic) => h('div', {class: 'tab' + (tab === name ? ' selected' : ''),
        id: kid('tab_' + name), cls: 'android.widget.LinearLayout', text: label, desc: label,
        'aria-selected': tab === name ? 'true' : 'false',
        onTap: () => {
          scr.params.tab = name;
          Nav.render();
        }},
      h('div', {class: 'tab-pill', 'aria-hidden': 'true'}, icon(ic)),
      h('div', {class: 'tab-label', 'aria-hidden': 'true'}, label));
      return h('div', {class: 'screen clock', id: kid('content'), cls: 'android.widget.FrameLayout'},
        h('div', {class: 'clock-body'}, body),
        h('div', {class: 'tabs', id: kid('tabs'), cls: 'android.widget.LinearLayout'},
          tabBtn('alarm', t('alarm_tab'), 'alarm'), tabBtn('clock', t('clock_tab'), 'clock')));
    },
  };

  SCREENS.alarm_edit = {
    pkg: CLOCK, activity: '.DeskClock',
    autofocus: kid('hour_field'),
    init(scr) {
      const a = scr.params.id ? DB.alarms().find((x) => x.id === scr.params.id) : null;
      scr.form = a ? {hour: String(a.hour), minute: pad2(a.minutes), label: a.label, days: a.daysofweek,
        vibrate: a.vibrate} : {hour: '', minute: '', label: '', days: 0, vibrate: 1};
    },
    render(scr, Nav) {
      const f = scr.form;
      const editing = !!scr.params.id;
      const upd = (k) => (v) => {
        f[k] = v;
        f.error = null;
        Nav.render();
      };
      const save = () => {
        const hs = String(f.hour).trim();
        const ms = String(f.minute).trim() || '0';
        if (!/^\d{1,2}$/.test(hs) || Number(hs) > 23) {
          f.error = t('bad_hour');
          Nav.render();
          return;
        }
        if (!/^\d{1,2}$/.test(ms) || Number(ms) > 59) {
          f.error = t('bad_minute');
          Nav.render();
          return;
        }
        const v = {hour: Number(hs), minutes: Number(ms), label: (f.label || '').trim(), daysofweek: f.days,
          vibrate: f.vibrate ? 1 : 0};
        if (!editing) v.enabled = 1;
        DB.saveAlarm(editing ? scr.params.id : null, v);
        Nav.back();
      };
      const days = t('days_short').map((d, i) => {
        const on = !!(f.days & (1 << i));
        return h('div', {class: 'day' + (on ? ' on' : ''), id: kid('day_' + ['mon', 'tue', 'wed', 'thu', 'fri',
          'sat', 'sun'][i]), role: 'checkbox', 'aria-checked': on ? 'true' : 'false', desc: t('days_long')[i],
        cls: 'android.widget.CheckBox', onTap: () => {
          f.days ^= (1 << i);
          Nav.render();
        }}, d);
      });
      return h('div', {class: 'screen editor', id: kid('content'), cls: 'android.widget.FrameLayout'},
        K.topBar({pkg: CLOCK, title: editing ? t('edit_alarm') : t('add_alarm'), upIcon: 'close',
          upDesc: t('cancel'), up: () => Nav.back()}),
        h('div', {class: 'form', scroll: true, id: kid('alarm_form'), cls: 'android.widget.ScrollView'},
          h('div', {class: 'time-fields'},
            K.textField({id: kid('hour_field'), hint: t('hour'), value: f.hour, inputmode: 'numeric',
              onInput: upd('hour'), onEnter: () => Nav.focus(kid('minute_field')), extraClass: 'time'}),
            h('div', {class: 'time-colon', 'aria-hidden': 'true'}, ':'),
            K.textField({id: kid('minute_field'), hint: t('minute'), value: f.minute, inputmode: 'numeric',
              onInput: upd('minute'), onEnter: () => Nav.focus(kid('label_field')), extraClass: 'time'})),
          K.textField({id: kid('label_field'), hint: t('label'), value: f.label, onInput: upd('label'),
            onEnter: () => Nav.blur()}),
          h('div', {class: 'form-caption', id: kid('repeat_title'), cls: 'android.widget.TextView'}, t('repeat')),
          h('div', {class: 'days', id: kid('repeat_days'), cls: 'android.widget.LinearLayout'}, days),
          K.prefRow({id: kid('vibrate'), icon: 'vibrate', title: t('vibrate'),
            sw: {id: kid('vibrate_switch'), checked: !!f.vibrate}, onTap: () => {
              f.vibrate = f.vibrate ? 0 : 1;
              Nav.render();
            }}),
          f.error ? h('div', {class: 'form-error', id: kid('error'), cls: 'android.widget.TextView'}, f.error) : null,
          h('div', {class: 'form-buttons'},
            editing ? K.button({id: kid('delete_button'), text: t('delete'), icon: 'delete', kind: 'text danger',
              onTap: () => {
                DB.deleteAlarm(scr.params.id);
                Nav.back();
              }}) : null,
            h('div', {class: 'spacer'}),
            K.button({id: kid('cancel_button'), text: t('cancel'), kind: 'text', onTap: () => Nav.back()}),
            K.button({id: kid('save_button'), text: t('save'), kind: 'filled', onTap: save}))));
    },
  };

  // English titles for settings search (so "wifi" finds WLAN in Chinese).
  window.I18N.setLocale('en');
  for (const e of SETTINGS_INDEX) EN_TITLES[e.key] = window.I18N.t(e.key);

  window.Apps = {APPS, SYSTEM_PACKAGES, SCREENS, appByPkg, nowHM, dateLine, LAUNCHER, SETTINGS, CONTACTS,
    MESSAGING, CLOCK, resolveRecipient, brightnessSlider, setBrightness, BATTERY_LEVEL};
})();
