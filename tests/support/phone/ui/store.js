'use strict';
// The phone's data, the one source of truth: settings, system properties and the content
// providers (contacts, SMS, alarms, settings), with a small SQL WHERE/ORDER BY evaluator so
// that `content query --where …` behaves like SQLite on a real phone. No DOM in here.
(function () {
  const DB = {};
  window.PhoneData = DB;

  const DEFAULT_PROPS = {
    'ro.product.model': 'Pixel 7',
    'ro.product.manufacturer': 'Google',
    'ro.product.brand': 'google',
    'ro.product.name': 'panther',
    'ro.product.device': 'panther',
    'ro.product.cpu.abi': 'arm64-v8a',
    'ro.build.version.release': '14',
    'ro.build.version.sdk': '34',
    'ro.build.id': 'UP1A.231005.007',
    'ro.build.display.id': 'UP1A.231005.007',
    'ro.build.type': 'user',
    'ro.build.tags': 'release-keys',
    'ro.build.fingerprint':
      'google/panther/panther:14/UP1A.231005.007/10754064:user/release-keys',
    'ro.product.locale': 'en-US',
    'ro.sf.lcd_density': '400',
    'ro.debuggable': '0',
    'sys.boot_completed': '1',
    'persist.sys.locale': 'en-US',
    'persist.sys.timezone': Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
    'gsm.operator.alpha': 'China Mobile',
  };

  const SEED_SETTINGS = {
    system: {
      screen_brightness: '128',
      screen_brightness_mode: '0',
      screen_off_timeout: '60000',
      system_locales: 'en-US',
      time_12_24: '24',
      volume_music: '7',
      volume_ring: '5',
      status_bar_show_battery_percent: '0',
      font_scale: '1.0',
    },
    secure: {
      default_input_method: 'com.google.android.inputmethod.latin/com.android.inputmethod.latin.LatinIME',
      enabled_input_methods: 'com.google.android.inputmethod.latin/com.android.inputmethod.latin.LatinIME',
      ui_night_mode: '1',
      android_id: '3f2a9c1d7b6e5a40',
    },
    global: {
      airplane_mode_on: '0',
      wifi_on: '1',
      bluetooth_on: '0',
      mobile_data: '1',
      low_power: '0',
      zen_mode: '0',
      adb_enabled: '1',
      auto_time: '1',
      device_name: 'Pixel 7',
    },
  };

  const SEED_CONTACTS = [
    ['张伟', '13800000001'],
    ['李娜', '13912345678'],
    ['王芳', '13700000003'],
    ['Bob Smith', '+1 650 555 0199'],
    ['Alice Wong', '+1 415 555 0123'],
    ['刘洋', '13600000004'],
    ['陈静', '15800000005'],
    ['Carlos García', '+34 612 345 678'],
    ['David Miller', '+1 212 555 0147'],
    ['Emma Johnson', '+44 20 7946 0958'],
    ['Hans Müller', '+49 30 1234567'],
    ['Yuki Tanaka', '+81 90 1234 5678'],
    ['Zoe Martin', '+33 6 12 34 56 78'],
  ];

  const MIN = 60 * 1000;
  // [address, body, type, minutes ago, read]
  const SEED_SMS = [
    ['10086', '【中国移动】您的验证码是 482913，5 分钟内有效，请勿泄露。', 1, 26 * 60, 1],
    ['+1 415 555 0123', 'Are we still on for lunch tomorrow at 12:30?', 1, 185, 1],
    ['+1 415 555 0123', 'Yes! See you at the usual place.', 2, 180, 1],
    ['10086', '【中国移动】尊敬的客户，您本月套餐内流量已使用 3.2GB，剩余 6.8GB。回复 CXLL 查询详情。',
      1, 95, 0],
  ];

  // DeskClock's days-of-week bit mask: Monday = 1, Tuesday = 2 … Sunday = 64.
  const SEED_ALARMS = [
    {hour: 6, minutes: 0, enabled: 0, label: 'Gym', daysofweek: 0, vibrate: 1},
    {hour: 8, minutes: 30, enabled: 1, label: 'Work', daysofweek: 31, vibrate: 1},
  ];

  // ---------------------------------------------------------------- state
  let S = null;
  const listeners = [];
  DB.onChange = (fn) => listeners.push(fn);
  function changed(what) {
    for (const fn of listeners) fn(what);
  }
  DB.changed = changed;

  function reset() {
    const now = Date.now();
    S = {
      props: Object.assign({}, DEFAULT_PROPS),
      settings: JSON.parse(JSON.stringify(SEED_SETTINGS)),
      contacts: [], // {id, name}
      phones: [], // {id, contact_id, number, type}
      sms: [], // {id, thread_id, address, date, read, type, body}
      alarms: [], // {id, hour, minutes, enabled, label, daysofweek, vibrate}
      threads: {}, // normalized address -> thread id
      seq: {contact: 0, data: 0, sms: 0, alarm: 0, thread: 0},
      radioMemory: null, // wifi/bluetooth before airplane mode went on
    };
    for (const [name, number] of SEED_CONTACTS) addContact(name, number);
    for (const [address, body, type, ago, read] of SEED_SMS) {
      addSms({address, body, type, date: now - ago * MIN, read});
    }
    for (const a of SEED_ALARMS) addAlarm(a);
  }
  DB.reset = reset;
  DB.state = () => S;

  // ---------------------------------------------------------------- settings & props
  const NAMESPACES = ['system', 'secure', 'global'];
  function nsCheck(ns) {
    if (!NAMESPACES.includes(ns)) return `Invalid namespace '${ns}'`;
    return null;
  }
  DB.settingsGet = (ns, key) => {
    if (nsCheck(ns)) return null;
    const v = S.settings[ns][key];
    return v === undefined ? null : v;
  };
  DB.settingsPut = (ns, key, value, quiet) => {
    const err = nsCheck(ns);
    if (err) return {error: err};
    S.settings[ns][key] = value === null || value === undefined ? 'null' : String(value);
    if (!quiet) changed('settings');
    return {ok: true};
  };
  DB.settingsDelete = (ns, key) => {
    const err = nsCheck(ns);
    if (err) return {error: err};
    const had = Object.prototype.hasOwnProperty.call(S.settings[ns], key);
    delete S.settings[ns][key];
    changed('settings');
    return {count: had ? 1 : 0};
  };
  DB.settingsList = (ns) => (nsCheck(ns) ? {} : Object.assign({}, S.settings[ns]));
  DB.flag = (ns, key) => DB.settingsGet(ns, key) === '1';

  DB.getprop = (key) => (Object.prototype.hasOwnProperty.call(S.props, key) ? S.props[key] : null);
  DB.props = () => Object.assign({}, S.props);
  DB.setprop = (key, value) => {
    S.props[key] = String(value);
    changed('props');
    return {ok: true};
  };

  // Airplane mode as the phone's own switch does it: radios go off, and come back as they
  // were when it is turned off again.
  DB.setAirplaneMode = (on) => {
    const g = S.settings.global;
    if (on) {
      if (g.airplane_mode_on !== '1') {
        S.radioMemory = {wifi_on: g.wifi_on || '0', bluetooth_on: g.bluetooth_on || '0'};
      }
      g.airplane_mode_on = '1';
      g.wifi_on = '0';
      g.bluetooth_on = '0';
    } else {
      g.airplane_mode_on = '0';
      if (S.radioMemory) {
        g.wifi_on = S.radioMemory.wifi_on;
        g.bluetooth_on = S.radioMemory.bluetooth_on;
      }
      S.radioMemory = null;
    }
    changed('settings');
    return {ok: true};
  };

  // ---------------------------------------------------------------- helpers
  function digits(s) {
    return String(s || '').replace(/[^0-9+]/g, '');
  }
  // Two numbers are the same line when their digits match, or one is the other with a
  // country code in front (as the phone's own matcher does, loosely).
  function sameNumber(a, b) {
    const x = digits(a).replace(/^\+/, '');
    const y = digits(b).replace(/^\+/, '');
    if (!x || !y) return false;
    if (x === y) return true;
    const n = Math.min(x.length, y.length);
    return n >= 7 && x.slice(-n) === y.slice(-n);
  }
  DB.digits = digits;
  DB.sameNumber = sameNumber;

  function threadFor(address) {
    let key = digits(address).replace(/^\+/, '') || String(address).toLowerCase();
    for (const k of Object.keys(S.threads)) {
      if (sameNumber(k, key) || k === key) {
        key = k;
        break;
      }
    }
    if (!S.threads[key]) S.threads[key] = ++S.seq.thread;
    return S.threads[key];
  }

  function addContact(name, number) {
    const c = {id: ++S.seq.contact, name: String(name)};
    S.contacts.push(c);
    if (number !== undefined && number !== null && String(number) !== '') {
      S.phones.push({id: ++S.seq.data, contact_id: c.id, number: String(number), type: 2});
    }
    return c;
  }
  function removeContact(id) {
    S.contacts = S.contacts.filter((c) => c.id !== id);
    S.phones = S.phones.filter((p) => p.contact_id !== id);
  }
  function addSms(v) {
    const m = {
      id: ++S.seq.sms,
      thread_id: threadFor(v.address),
      address: String(v.address),
      date: v.date === undefined || v.date === null ? Date.now() : Number(v.date),
      read: v.read === undefined || v.read === null ? (Number(v.type) === 1 ? 0 : 1) : Number(v.read),
      type: v.type === undefined || v.type === null ? 1 : Number(v.type),
      body: v.body === undefined || v.body === null ? '' : String(v.body),
    };
    S.sms.push(m);
    return m;
  }
  function addAlarm(v) {
    const a = {
      id: ++S.seq.alarm,
      hour: num(v.hour, 0),
      minutes: num(v.minutes, 0),
      enabled: num(v.enabled, 1),
      label: v.label === undefined || v.label === null ? '' : String(v.label),
      daysofweek: num(v.daysofweek, 0),
      vibrate: num(v.vibrate, 1),
    };
    S.alarms.push(a);
    return a;
  }
  function num(v, dflt) {
    if (v === undefined || v === null || v === '') return dflt;
    if (v === true) return 1;
    if (v === false) return 0;
    const n = Number(v);
    return Number.isFinite(n) ? n : dflt;
  }

  // App-facing operations (the UI calls these; each one announces the change).
  DB.contacts = () => S.contacts.map((c) => ({
    id: c.id, name: c.name, numbers: S.phones.filter((p) => p.contact_id === c.id).map((p) => p.number),
  }));
  DB.contact = (id) => DB.contacts().find((c) => c.id === id) || null;
  DB.createContact = (name, number) => {
    const c = addContact(name, number);
    changed('contacts');
    return c.id;
  };
  DB.updateContact = (id, name, number) => {
    const c = S.contacts.find((x) => x.id === id);
    if (!c) return;
    c.name = String(name);
    const ph = S.phones.filter((p) => p.contact_id === id);
    if (number === '' || number === null) {
      S.phones = S.phones.filter((p) => p.contact_id !== id);
    } else if (ph.length) {
      ph[0].number = String(number);
    } else {
      S.phones.push({id: ++S.seq.data, contact_id: id, number: String(number), type: 2});
    }
    changed('contacts');
  };
  DB.deleteContact = (id) => {
    removeContact(id);
    changed('contacts');
  };
  DB.contactForNumber = (number) => {
    const p = S.phones.find((x) => sameNumber(x.number, number));
    return p ? DB.contact(p.contact_id) : null;
  };
  DB.messages = () => S.sms.map((m) => Object.assign({}, m));
  DB.sendSms = (address, body) => {
    const m = addSms({address, body, type: 2, read: 1, date: Date.now()});
    changed('sms');
    return m.id;
  };
  DB.deleteThread = (threadId) => {
    S.sms = S.sms.filter((m) => m.thread_id !== threadId);
    changed('sms');
  };
  DB.markThreadRead = (threadId) => {
    let n = 0;
    for (const m of S.sms) {
      if (m.thread_id === threadId && m.read !== 1) {
        m.read = 1;
        n++;
      }
    }
    if (n) changed('sms');
  };
  DB.threadIdFor = (address) => {
    for (const m of S.sms) if (sameNumber(m.address, address) || m.address === address) return m.thread_id;
    return null;
  };
  DB.alarms = () => S.alarms.map((a) => Object.assign({}, a));
  DB.saveAlarm = (id, v) => {
    if (id) {
      const a = S.alarms.find((x) => x.id === id);
      if (a) Object.assign(a, v);
    } else {
      id = addAlarm(v).id;
    }
    changed('alarms');
    return id;
  };
  DB.deleteAlarm = (id) => {
    S.alarms = S.alarms.filter((a) => a.id !== id);
    changed('alarms');
  };

  // ---------------------------------------------------------------- providers
  // Each provider exposes rows (fresh objects in column order), a column type map, and
  // insert / update / remove on the rows it produced.
  const PHONE_COLS = {_id: 'i', contact_id: 'i', raw_contact_id: 'i', display_name: 's', data1: 's',
    data2: 'i', mimetype: 's'};
  const CONTACT_COLS = {_id: 'i', display_name: 's', has_phone_number: 'i'};
  const RAW_COLS = {_id: 'i', contact_id: 'i', display_name: 's', deleted: 'i'};
  const SMS_COLS = {_id: 'i', thread_id: 'i', address: 's', date: 'i', read: 'i', type: 'i', body: 's'};
  const ALARM_COLS = {_id: 'i', hour: 'i', minutes: 'i', enabled: 'i', label: 's', daysofweek: 'i',
    vibrate: 'i'};
  const SETTING_COLS = {_id: 'i', name: 's', value: 's'};

  function coerce(types, values) {
    const out = {};
    for (const [k, v] of Object.entries(values || {})) {
      if (!(k in types)) throw new SqlError(`table has no column named ${k}`);
      if (v === null || v === undefined) out[k] = null;
      else if (types[k] === 'i') {
        const n = typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
        out[k] = Number.isFinite(n) && String(v).trim() !== '' ? n : String(v);
      } else out[k] = String(v);
    }
    return out;
  }

  function contactName(id) {
    const c = S.contacts.find((x) => x.id === id);
    return c ? c.name : null;
  }

  const phonesProvider = {
    base: 'content://com.android.contacts/data/phones',
    types: PHONE_COLS,
    rows: () => S.phones.map((p) => ({
      _id: p.id, contact_id: p.contact_id, raw_contact_id: p.contact_id,
      display_name: contactName(p.contact_id), data1: p.number, data2: p.type,
      mimetype: 'vnd.android.cursor.item/phone_v2',
    })),
    insert(v) {
      let cid = v.raw_contact_id || v.contact_id;
      if (cid && !S.contacts.find((c) => c.id === cid)) throw new SqlError(`no raw contact ${cid}`);
      if (!cid) {
        if (v.display_name === undefined || v.display_name === null) {
          throw new SqlError('insert needs display_name (new contact) or raw_contact_id');
        }
        cid = addContact(v.display_name).id;
      } else if (v.display_name) {
        S.contacts.find((c) => c.id === cid).name = v.display_name;
      }
      const p = {id: ++S.seq.data, contact_id: cid, number: v.data1 === undefined || v.data1 === null ?
        '' : String(v.data1), type: v.data2 || 2};
      S.phones.push(p);
      return `content://com.android.contacts/data/${p.id}`;
    },
    update(row, v) {
      const p = S.phones.find((x) => x.id === row._id);
      if (!p) return;
      if ('data1' in v) p.number = v.data1 === null ? '' : String(v.data1);
      if ('data2' in v) p.type = v.data2;
      if ('display_name' in v) {
        const c = S.contacts.find((x) => x.id === p.contact_id);
        if (c) c.name = String(v.display_name);
      }
    },
    remove(row) {
      S.phones = S.phones.filter((p) => p.id !== row._id);
    },
    topic: 'contacts',
  };
  function contactsLike(base, types, shape) {
    return {
      base, types, topic: 'contacts',
      rows: () => S.contacts.map(shape),
      insert(v) {
        if (v.display_name === undefined || v.display_name === null) {
          throw new SqlError('insert needs display_name');
        }
        const c = addContact(v.display_name);
        return `${base}/${c.id}`;
      },
      update(row, v) {
        const c = S.contacts.find((x) => x.id === row._id);
        if (c && 'display_name' in v) c.name = String(v.display_name);
      },
      remove(row) {
        removeContact(row._id);
      },
    };
  }
  const contactsProvider = contactsLike('content://com.android.contacts/contacts', CONTACT_COLS,
    (c) => ({_id: c.id, display_name: c.name,
      has_phone_number: S.phones.some((p) => p.contact_id === c.id) ? 1 : 0}));
  const rawContactsProvider = contactsLike('content://com.android.contacts/raw_contacts', RAW_COLS,
    (c) => ({_id: c.id, contact_id: c.id, display_name: c.name, deleted: 0}));

  function smsProvider(base, type) {
    return {
      base, types: SMS_COLS, topic: 'sms',
      rows: () => S.sms.filter((m) => type === null || m.type === type).map((m) => ({
        _id: m.id, thread_id: m.thread_id, address: m.address, date: m.date, read: m.read,
        type: m.type, body: m.body,
      })),
      insert(v) {
        if (v.address === undefined || v.address === null) throw new SqlError('insert needs address');
        const vals = Object.assign({}, v);
        if (type !== null) vals.type = type;
        const m = addSms(vals);
        return `content://sms/${m.id}`;
      },
      update(row, v) {
        const m = S.sms.find((x) => x.id === row._id);
        if (!m) return;
        for (const k of ['address', 'body', 'date', 'read', 'type']) if (k in v) m[k] = v[k];
        if ('address' in v) m.thread_id = threadFor(m.address);
      },
      remove(row) {
        S.sms = S.sms.filter((m) => m.id !== row._id);
      },
    };
  }
  const alarmsProvider = {
    base: 'content://com.android.deskclock/alarms', types: ALARM_COLS, topic: 'alarms',
    rows: () => S.alarms.map((a) => ({
      _id: a.id, hour: a.hour, minutes: a.minutes, enabled: a.enabled, label: a.label,
      daysofweek: a.daysofweek, vibrate: a.vibrate,
    })),
    insert(v) {
      return `content://com.android.deskclock/alarms/${addAlarm(v).id}`;
    },
    update(row, v) {
      const a = S.alarms.find((x) => x.id === row._id);
      if (!a) return;
      for (const k of Object.keys(ALARM_COLS)) if (k !== '_id' && k in v) a[k] = v[k];
    },
    remove(row) {
      S.alarms = S.alarms.filter((a) => a.id !== row._id);
    },
  };
  function settingsProvider(ns) {
    const base = `content://settings/${ns}`;
    return {
      base, types: SETTING_COLS, topic: 'settings',
      rows: () => Object.keys(S.settings[ns]).map((name, i) => ({
        _id: i + 1, name, value: S.settings[ns][name],
      })),
      insert(v) {
        if (!v.name) throw new SqlError('insert needs name');
        S.settings[ns][v.name] = v.value === null || v.value === undefined ? 'null' : String(v.value);
        return `${base}/${v.name}`;
      },
      update(row, v) {
        if ('value' in v) S.settings[ns][row.name] = String(v.value);
      },
      remove(row) {
        delete S.settings[ns][row.name];
      },
    };
  }

  const PROVIDERS = [
    phonesProvider, contactsProvider, rawContactsProvider,
    smsProvider('content://sms', null), smsProvider('content://sms/inbox', 1),
    smsProvider('content://sms/sent', 2), smsProvider('content://sms/draft', 3),
    smsProvider('content://sms/outbox', 4), alarmsProvider,
    settingsProvider('system'), settingsProvider('secure'), settingsProvider('global'),
  ];
  // Aliases a real phone also answers.
  const ALIASES = {
    'content://com.android.contacts/data/phones/': phonesProvider,
    'content://com.android.contacts/raw_contacts/': rawContactsProvider,
  };

  function resolve(uri) {
    const u = String(uri || '').trim().replace(/\/+$/, '');
    const [path] = u.split('?');
    for (const p of PROVIDERS) if (p.base === path) return {p, id: null};
    for (const p of PROVIDERS) {
      if (path.startsWith(p.base + '/')) {
        const rest = path.slice(p.base.length + 1);
        if (/^\d+$/.test(rest)) return {p, id: Number(rest)};
      }
    }
    const alias = ALIASES[path + '/'];
    if (alias) return {p: alias, id: null};
    return null;
  }

  class SqlError extends Error {}

  function guard(fn) {
    try {
      return fn();
    } catch (e) {
      if (e instanceof SqlError) return {error: e.message};
      return {error: String(e && e.message ? e.message : e)};
    }
  }

  function selectRows(r, where) {
    let rows = r.p.rows();
    if (r.id !== null) rows = rows.filter((row) => row._id === r.id);
    if (where !== null && where !== undefined && String(where).trim() !== '') {
      const expr = parseWhere(String(where));
      rows = rows.filter((row) => truthy(evaluate(expr, row)));
    }
    return rows;
  }

  DB.contentQuery = (uri, projection, where, sort) => guard(() => {
    const r = resolve(uri);
    if (!r) return {error: `Unknown URI ${uri}`};
    let rows = selectRows(r, where);
    if (sort !== null && sort !== undefined && String(sort).trim() !== '') {
      rows = sortRows(rows, String(sort), r.p.types);
    }
    let cols = null;
    if (projection !== null && projection !== undefined) {
      cols = Array.isArray(projection) ? projection :
        String(projection).split(/[:,]/).map((s) => s.trim()).filter(Boolean);
      if (cols.length === 1 && cols[0] === '*') cols = null;
    }
    if (cols) {
      for (const c of cols) if (!(c in r.p.types)) throw new SqlError(`no such column: ${c}`);
      rows = rows.map((row) => {
        const o = {};
        for (const c of cols) o[c] = row[c];
        return o;
      });
    }
    return {rows};
  });

  DB.contentInsert = (uri, values) => guard(() => {
    const r = resolve(uri);
    if (!r) return {error: `Unknown URI ${uri}`};
    const out = r.p.insert(coerce(r.p.types, values));
    changed(r.p.topic);
    return {uri: out};
  });

  DB.contentDelete = (uri, where) => guard(() => {
    const r = resolve(uri);
    if (!r) return {error: `Unknown URI ${uri}`};
    const rows = selectRows(r, where);
    for (const row of rows) r.p.remove(row);
    if (rows.length) changed(r.p.topic);
    return {count: rows.length};
  });

  DB.contentUpdate = (uri, values, where) => guard(() => {
    const r = resolve(uri);
    if (!r) return {error: `Unknown URI ${uri}`};
    const v = coerce(r.p.types, values);
    if ('_id' in v) throw new SqlError('cannot update _id');
    const rows = selectRows(r, where);
    for (const row of rows) r.p.update(row, v);
    if (rows.length) changed(r.p.topic);
    return {count: rows.length};
  });

  // ---------------------------------------------------------------- SQL subset
  // Grammar: expr := and (OR and)* ; and := not (AND not)* ; not := NOT not | cmp ;
  // cmp := sum [(=|==|!=|<>|<|<=|>|>=) sum | [NOT] LIKE sum | IS [NOT] NULL |
  //        [NOT] IN (sum, …) | [NOT] BETWEEN sum AND sum] ;
  // sum := atom ; atom := literal | column | NULL | '(' expr ')' | LOWER(expr) | UPPER(expr).
  function tokenize(src) {
    const toks = [];
    let i = 0;
    while (i < src.length) {
      const c = src[i];
      if (/\s/.test(c)) {
        i++;
      } else if (c === "'" || c === '"') {
        let j = i + 1;
        let s = '';
        for (;;) {
          if (j >= src.length) throw new SqlError(`unrecognized token: ${src.slice(i)}`);
          if (src[j] === c) {
            if (src[j + 1] === c) {
              s += c;
              j += 2;
              continue;
            }
            break;
          }
          s += src[j++];
        }
        toks.push({t: 'str', v: s});
        i = j + 1;
      } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] || ''))) {
        const m = /^[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?/.exec(src.slice(i)) || /^[0-9]+/.exec(src.slice(i));
        toks.push({t: 'num', v: Number(m[0])});
        i += m[0].length;
      } else if (/[A-Za-z_]/.test(c)) {
        const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(src.slice(i));
        const up = m[0].toUpperCase();
        if (['AND', 'OR', 'NOT', 'LIKE', 'IS', 'NULL', 'IN', 'BETWEEN', 'GLOB'].includes(up)) {
          toks.push({t: 'kw', v: up});
        } else {
          toks.push({t: 'id', v: m[0]});
        }
        i += m[0].length;
      } else if (c === '`' || c === '[') {
        const end = src.indexOf(c === '`' ? '`' : ']', i + 1);
        if (end < 0) throw new SqlError(`unrecognized token: ${src.slice(i)}`);
        toks.push({t: 'id', v: src.slice(i + 1, end)});
        i = end + 1;
      } else {
        const two = src.slice(i, i + 2);
        if (['!=', '<>', '<=', '>=', '=='].includes(two)) {
          toks.push({t: 'op', v: two === '==' ? '=' : two === '<>' ? '!=' : two});
          i += 2;
        } else if ('=<>(),-'.includes(c)) {
          toks.push({t: 'op', v: c});
          i++;
        } else {
          throw new SqlError(`near "${c}": syntax error`);
        }
      }
    }
    return toks;
  }

  function parseWhere(src) {
    const toks = tokenize(src);
    let pos = 0;
    const peek = () => toks[pos];
    const isKw = (v) => peek() && peek().t === 'kw' && peek().v === v;
    const isOp = (v) => peek() && peek().t === 'op' && peek().v === v;
    const fail = () => {
      const tok = peek();
      throw new SqlError(tok ? `near "${tok.v}": syntax error` : 'incomplete input');
    };
    function expr() {
      let left = and();
      while (isKw('OR')) {
        pos++;
        left = {k: 'or', a: left, b: and()};
      }
      return left;
    }
    function and() {
      let left = not();
      while (isKw('AND')) {
        pos++;
        left = {k: 'and', a: left, b: not()};
      }
      return left;
    }
    function not() {
      if (isKw('NOT')) {
        pos++;
        return {k: 'not', a: not()};
      }
      return cmp();
    }
    function cmp() {
      const left = atom();
      let neg = false;
      if (isKw('NOT')) {
        pos++;
        neg = true;
      }
      let node = null;
      if (!neg && peek() && peek().t === 'op' && ['=', '!=', '<', '<=', '>', '>='].includes(peek().v)) {
        const op = toks[pos++].v;
        node = {k: 'cmp', op, a: left, b: atom()};
      } else if (isKw('LIKE') || isKw('GLOB')) {
        const kind = toks[pos++].v;
        node = {k: kind === 'LIKE' ? 'like' : 'glob', a: left, b: atom()};
      } else if (!neg && isKw('IS')) {
        pos++;
        let isNot = false;
        if (isKw('NOT')) {
          pos++;
          isNot = true;
        }
        if (!isKw('NULL')) fail();
        pos++;
        node = {k: 'isnull', a: left};
        if (isNot) node = {k: 'not', a: node};
      } else if (isKw('IN')) {
        pos++;
        if (!isOp('(')) fail();
        pos++;
        const list = [];
        if (!isOp(')')) {
          list.push(atom());
          while (isOp(',')) {
            pos++;
            list.push(atom());
          }
        }
        if (!isOp(')')) fail();
        pos++;
        node = {k: 'in', a: left, list};
      } else if (isKw('BETWEEN')) {
        pos++;
        const lo = atom();
        if (!isKw('AND')) fail();
        pos++;
        const hi = atom();
        node = {k: 'and', a: {k: 'cmp', op: '>=', a: left, b: lo}, b: {k: 'cmp', op: '<=', a: left, b: hi}};
      } else if (neg) {
        fail();
      } else {
        return left;
      }
      return neg ? {k: 'not', a: node} : node;
    }
    function atom() {
      const tok = peek();
      if (!tok) fail();
      if (tok.t === 'op' && tok.v === '(') {
        pos++;
        const e = expr();
        if (!isOp(')')) fail();
        pos++;
        return e;
      }
      if (tok.t === 'op' && tok.v === '-') {
        pos++;
        const n = peek();
        if (!n || n.t !== 'num') fail();
        pos++;
        return {k: 'lit', v: -n.v};
      }
      if (tok.t === 'str' || tok.t === 'num') {
        pos++;
        return {k: 'lit', v: tok.v};
      }
      if (tok.t === 'kw' && tok.v === 'NULL') {
        pos++;
        return {k: 'lit', v: null};
      }
      if (tok.t === 'id') {
        pos++;
        const fn = tok.v.toUpperCase();
        if ((fn === 'LOWER' || fn === 'UPPER' || fn === 'TRIM' || fn === 'LENGTH') && isOp('(')) {
          pos++;
          const a = expr();
          if (!isOp(')')) fail();
          pos++;
          return {k: 'fn', fn, a};
        }
        return {k: 'col', v: tok.v};
      }
      fail();
    }
    const e = expr();
    if (pos !== toks.length) fail();
    return e;
  }

  function numeric(v) {
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v)) return Number(v);
    return null;
  }
  // SQLite-like comparison with affinity: a number and a numeric string compare as numbers.
  function compare(a, b) {
    if (typeof a === 'number' || typeof b === 'number') {
      const x = numeric(a);
      const y = numeric(b);
      if (x !== null && y !== null) return x < y ? -1 : x > y ? 1 : 0;
      // numbers sort before text in SQLite
      return typeof a === 'number' ? -1 : 1;
    }
    const x = String(a);
    const y = String(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  function likeToRegex(pattern, glob) {
    let re = '^';
    for (const ch of String(pattern)) {
      if (!glob && ch === '%') re += '[\\s\\S]*';
      else if (!glob && ch === '_') re += '[\\s\\S]';
      else if (glob && ch === '*') re += '[\\s\\S]*';
      else if (glob && ch === '?') re += '[\\s\\S]';
      else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(re + '$', glob ? 'u' : 'iu');
  }
  function truthy(v) {
    if (v === null || v === undefined) return false;
    const n = numeric(v);
    return n !== null ? n !== 0 : false;
  }
  function evaluate(e, row) {
    switch (e.k) {
      case 'lit':
        return e.v;
      case 'col':
        if (!(e.v in row)) throw new SqlError(`no such column: ${e.v}`);
        return row[e.v];
      case 'fn': {
        const v = evaluate(e.a, row);
        if (v === null) return null;
        if (e.fn === 'LOWER') return String(v).toLowerCase();
        if (e.fn === 'UPPER') return String(v).toUpperCase();
        if (e.fn === 'TRIM') return String(v).trim();
        return String(v).length;
      }
      case 'or': {
        const a = evaluate(e.a, row);
        const b = evaluate(e.b, row);
        if (truthy(a) || truthy(b)) return 1;
        return a === null || b === null ? null : 0;
      }
      case 'and': {
        const a = evaluate(e.a, row);
        const b = evaluate(e.b, row);
        if ((a !== null && !truthy(a)) || (b !== null && !truthy(b))) return 0;
        return a === null || b === null ? null : 1;
      }
      case 'not': {
        const a = evaluate(e.a, row);
        return a === null ? null : truthy(a) ? 0 : 1;
      }
      case 'isnull':
        return evaluate(e.a, row) === null ? 1 : 0;
      case 'cmp': {
        const a = evaluate(e.a, row);
        const b = evaluate(e.b, row);
        if (a === null || b === null) return null;
        const c = compare(a, b);
        const r = {'=': c === 0, '!=': c !== 0, '<': c < 0, '<=': c <= 0, '>': c > 0, '>=': c >= 0}[e.op];
        return r ? 1 : 0;
      }
      case 'like':
      case 'glob': {
        const a = evaluate(e.a, row);
        const b = evaluate(e.b, row);
        if (a === null || b === null) return null;
        return likeToRegex(b, e.k === 'glob').test(String(a)) ? 1 : 0;
      }
      case 'in': {
        const a = evaluate(e.a, row);
        if (a === null) return null;
        return e.list.some((x) => {
          const v = evaluate(x, row);
          return v !== null && compare(a, v) === 0;
        }) ? 1 : 0;
      }
      default:
        throw new SqlError('bad expression');
    }
  }

  function sortRows(rows, sort, types) {
    let spec = sort.trim();
    let limit = null;
    let offset = 0;
    const lm = /\s+LIMIT\s+(\d+)(?:\s*(?:,|\s+OFFSET\s+)\s*(\d+))?\s*$/i.exec(' ' + spec);
    if (lm) {
      spec = (' ' + spec).slice(0, lm.index).trim();
      if (/,/.test(lm[0]) && lm[2] !== undefined) {
        offset = Number(lm[1]);
        limit = Number(lm[2]);
      } else {
        limit = Number(lm[1]);
        offset = lm[2] !== undefined ? Number(lm[2]) : 0;
      }
    }
    const keys = [];
    if (spec) {
      for (const part of spec.split(',')) {
        const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s+COLLATE\s+(\w+))?(?:\s+(ASC|DESC))?\s*$/i.exec(part);
        if (!m) throw new SqlError(`near "${part.trim()}": syntax error`);
        if (!(m[1] in types)) throw new SqlError(`no such column: ${m[1]}`);
        keys.push({col: m[1], nocase: (m[2] || '').toUpperCase() === 'NOCASE',
          desc: (m[3] || '').toUpperCase() === 'DESC'});
      }
    }
    const out = rows.slice();
    out.sort((x, y) => {
      for (const k of keys) {
        let a = x[k.col];
        let b = y[k.col];
        if (k.nocase && typeof a === 'string' && typeof b === 'string') {
          a = a.toLowerCase();
          b = b.toLowerCase();
        }
        let c;
        if (a === null && b === null) c = 0;
        else if (a === null) c = -1;
        else if (b === null) c = 1;
        else c = compare(a, b);
        if (c) return k.desc ? -c : c;
      }
      return 0;
    });
    return limit === null ? out.slice(offset) : out.slice(offset, offset + limit);
  }

  DB._parseWhere = parseWhere; // for tests
  reset();
})();
