'use strict';
// UI strings. English and Simplified Chinese are complete; Japanese, Spanish and German cover
// the main labels and fall back to English for the rest (as a partly translated phone does).
(function () {
  const en = {
    // system UI
    back: 'Back', home: 'Home', overview: 'Overview', clear_all: 'Clear all',
    no_recent: 'No recent items', wifi_signal: 'Wi-Fi signal full', airplane_icon: 'Airplane mode',
    bluetooth_icon: 'Bluetooth on', battery_desc: 'Battery 80 percent', phone_signal: 'Phone signal full',
    quick_settings: 'Quick settings', internet_tile: 'Internet',
    volume: 'Volume', navigate_up: 'Navigate up', more_options: 'More options',
    // launcher / apps
    app_settings: 'Settings', app_contacts: 'Contacts', app_messages: 'Messages', app_clock: 'Clock',
    app_chrome: 'Chrome', app_camera: 'Camera', app_play: 'Play Store', app_phone: 'Phone',
    app_launcher: 'Pixel Launcher', home_screen: 'Home screen',
    unavailable_title: '{app} isn\'t available',
    unavailable_body: 'This test phone has no {app}. Only Settings, Contacts, Messages and Clock work here.',
    unavailable_action: 'This feature isn\'t available on this test phone',
    // settings
    settings: 'Settings', search_settings: 'Search settings', no_results: 'No results',
    network_internet: 'Network & internet', network_summary: 'Wi-Fi, airplane mode',
    connected_devices: 'Connected devices', connected_summary: 'Bluetooth',
    display: 'Display', display_summary: 'Brightness, dark theme',
    system: 'System', system_summary: 'Languages',
    about_phone: 'About phone',
    battery: 'Battery', battery_estimate: 'About 1 day left', battery_saver: 'Battery Saver',
    battery_saver_summary: 'Extend battery life', battery_percentage: 'Battery percentage',
    battery_percentage_summary: 'Show battery percentage in status bar',
    sound: 'Sound & vibration', sound_summary: 'Volume, Do Not Disturb', media_volume: 'Media volume',
    ring_volume: 'Ring volume', dnd: 'Do Not Disturb',
    wifi: 'Wi-Fi', wifi_on_summary: 'Connected to TestNet', wifi_off_summary: 'Off',
    airplane_mode: 'Airplane mode', airplane_summary: 'Turn off Wi-Fi, Bluetooth and mobile data',
    bluetooth: 'Bluetooth', bluetooth_on_summary: 'On · visible as "{name}"',
    bluetooth_off_summary: 'Off',
    pair_new: 'Pair new device',
    brightness: 'Brightness level', brightness_value: '{v} of 255',
    adaptive_brightness: 'Adaptive brightness', adaptive_summary: 'Adjust brightness to your environment',
    dark_theme: 'Dark theme', dark_summary: 'Use a dark background',
    languages: 'Languages', languages_summary: 'System languages', system_languages: 'System languages',
    language_hint: 'Tap a language to use it for the whole phone.',
    device_name: 'Device name', model: 'Model', android_version: 'Android version',
    build_number: 'Build number', manufacturer: 'Manufacturer', on: 'On', off: 'Off',
    // contacts
    contacts: 'Contacts', search_contacts: 'Search contacts', create_contact: 'Create contact',
    edit_contact: 'Edit contact', no_contacts: 'No contacts', no_matches: 'No matching contacts',
    name: 'Name', phone: 'Phone', save: 'Save', cancel: 'Cancel', delete: 'Delete', edit: 'Edit',
    mobile: 'Mobile', call: 'Call', message: 'Message',
    delete_contact_q: 'Delete this contact?', delete_contact_body: '{name} will be removed from this phone.',
    need_name_or_phone: 'Enter a name or a phone number',
    // messages
    messages: 'Messages', start_chat: 'Start chat', new_conversation: 'New conversation',
    to: 'To', to_hint: 'Type name, phone number, or email', text_message: 'Text message',
    send_sms: 'Send SMS', no_conversations: 'No conversations yet',
    bad_recipient: 'Enter a phone number or a contact name', you: 'You', sent: 'Sent',
    send_to: 'Send to {to}', delete_conversation_q: 'Delete this conversation?',
    delete_conversation_body: 'All messages in it will be deleted from this phone.', search_apps: 'Search apps',
    // clock
    clock: 'Clock', alarm: 'Alarm', alarms: 'Alarms', timer: 'Timer', stopwatch: 'Stopwatch',
    add_alarm: 'Add alarm', edit_alarm: 'Edit alarm', hour: 'Hour (0–23)', minute: 'Minute (0–59)',
    label: 'Label', repeat: 'Repeat', vibrate: 'Vibrate', not_scheduled: 'Not scheduled',
    every_day: 'Every day', weekdays: 'Mon – Fri', weekends: 'Sat, Sun', no_alarms: 'No alarms',
    alarm_desc: '{time} alarm', bad_hour: 'Hour must be a number from 0 to 23',
    bad_minute: 'Minute must be a number from 0 to 59', delete_alarm: 'Delete alarm',
    days_short: ['M', 'T', 'W', 'T', 'F', 'S', 'S'],
    days_long: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'],
    days_abbr: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'],
    alarm_tab: 'Alarm', clock_tab: 'Clock',
  };

  const zh = {
    back: '返回', home: '主屏幕', overview: '概览', clear_all: '全部清除', no_recent: '近期没有任何内容',
    wifi_signal: 'WLAN 信号满格', airplane_icon: '飞行模式', bluetooth_icon: '蓝牙已开启',
    battery_desc: '电池电量为百分之 80', phone_signal: '手机信号满格', quick_settings: '快捷设置',
    internet_tile: '互联网', volume: '音量', navigate_up: '向上导航', more_options: '更多选项',
    app_settings: '设置', app_contacts: '联系人', app_messages: '信息', app_clock: '时钟',
    app_chrome: 'Chrome', app_camera: '相机', app_play: 'Play 商店', app_phone: '电话',
    app_launcher: 'Pixel 启动器', home_screen: '主屏幕',
    unavailable_title: '无法使用“{app}”',
    unavailable_body: '这台测试手机上没有“{app}”。这里只有设置、联系人、信息和时钟可以使用。',
    unavailable_action: '这台测试手机不支持此功能',
    settings: '设置', search_settings: '搜索设置', no_results: '无结果',
    network_internet: '网络和互联网', network_summary: 'WLAN、飞行模式',
    connected_devices: '已连接的设备', connected_summary: '蓝牙',
    display: '显示', display_summary: '亮度、深色主题',
    system: '系统', system_summary: '语言',
    about_phone: '关于手机',
    battery: '电池', battery_estimate: '大约还可使用 1 天', battery_saver: '省电模式',
    battery_saver_summary: '延长电池续航时间', battery_percentage: '电池电量百分比',
    battery_percentage_summary: '在状态栏中显示电池电量百分比',
    sound: '声音和振动', sound_summary: '音量、勿扰模式', media_volume: '媒体音量', ring_volume: '铃声音量',
    dnd: '勿扰模式',
    wifi: 'WLAN', wifi_on_summary: '已连接到 TestNet', wifi_off_summary: '已关闭',
    airplane_mode: '飞行模式', airplane_summary: '关闭 WLAN、蓝牙和移动数据网络',
    bluetooth: '蓝牙', bluetooth_on_summary: '已开启 · 显示为“{name}”', bluetooth_off_summary: '已关闭',
    pair_new: '与新设备配对',
    brightness: '亮度', brightness_value: '{v} / 255',
    adaptive_brightness: '自动调节亮度', adaptive_summary: '根据环境调节屏幕亮度',
    dark_theme: '深色主题', dark_summary: '使用深色背景',
    languages: '语言', languages_summary: '系统语言', system_languages: '系统语言',
    language_hint: '点按某种语言即可在整部手机上使用该语言。',
    device_name: '设备名称', model: '型号', android_version: 'Android 版本', build_number: '版本号',
    manufacturer: '制造商', on: '开启', off: '关闭',
    contacts: '联系人', search_contacts: '搜索联系人', create_contact: '新建联系人',
    edit_contact: '修改联系人', no_contacts: '没有联系人', no_matches: '没有匹配的联系人',
    name: '姓名', phone: '电话', save: '保存', cancel: '取消', delete: '删除', edit: '修改',
    mobile: '手机', call: '拨打电话', message: '发短信',
    delete_contact_q: '要删除此联系人吗？', delete_contact_body: '系统将从此手机中移除“{name}”。',
    need_name_or_phone: '请输入姓名或电话号码',
    messages: '信息', start_chat: '发起聊天', new_conversation: '新对话',
    to: '收件人', to_hint: '输入姓名、电话号码或电子邮件地址', text_message: '短信',
    send_sms: '发送短信', no_conversations: '还没有任何对话',
    bad_recipient: '请输入电话号码或联系人姓名', you: '我', sent: '已发送', send_to: '发送给 {to}', delete_conversation_q: '要删除此对话吗？',
    delete_conversation_body: '其中的所有信息都将从此手机中删除。', search_apps: '搜索应用',
    clock: '时钟', alarm: '闹钟', alarms: '闹钟', timer: '计时器', stopwatch: '秒表',
    add_alarm: '添加闹钟', edit_alarm: '修改闹钟', hour: '小时 (0–23)', minute: '分钟 (0–59)',
    label: '标签', repeat: '重复', vibrate: '振动', not_scheduled: '未安排', every_day: '每天',
    weekdays: '周一至周五', weekends: '周六、周日', no_alarms: '没有闹钟', alarm_desc: '{time} 的闹钟',
    bad_hour: '小时必须是 0 到 23 之间的数字', bad_minute: '分钟必须是 0 到 59 之间的数字',
    delete_alarm: '删除闹钟',
    days_short: ['一', '二', '三', '四', '五', '六', '日'],
    days_long: ['星期一', '星期二', '星期三', '星期四', '星期五', '星期六', '星期日'],
    days_abbr: ['周一', '周二', '周三', '周四', '周五', '周六', '周日'],
    alarm_tab: '闹钟', clock_tab: '时钟',
  };

  const ja = {
    back: '戻る', home: 'ホーム', app_settings: '設定', app_contacts: '連絡帳', app_messages: 'メッセージ',
    app_clock: '時計', app_camera: 'カメラ', app_phone: '電話', settings: '設定',
    search_settings: '設定を検索', network_internet: 'ネットワークとインターネット',
    connected_devices: '接続済みのデバイス', display: 'ディスプレイ', system: 'システム',
    about_phone: 'デバイス情報', airplane_mode: '機内モード', bluetooth: 'Bluetooth',
    brightness: '明るさのレベル', languages: '言語', contacts: '連絡帳', messages: 'メッセージ',
    clock: '時計', alarm: 'アラーム', save: '保存', cancel: 'キャンセル', delete: '削除',
    name: '名前', phone: '電話', start_chat: 'チャットを開始', add_alarm: 'アラームを追加',
    create_contact: '連絡先を作成', search_contacts: '連絡先を検索', label: 'ラベル',
    dark_theme: 'ダークテーマ', model: 'モデル', android_version: 'Android バージョン',
    alarm_tab: 'アラーム', clock_tab: '時計', on: 'オン', off: 'オフ',
  };
  const es = {
    back: 'Atrás', home: 'Inicio', app_settings: 'Ajustes', app_contacts: 'Contactos',
    app_messages: 'Mensajes', app_clock: 'Reloj', app_camera: 'Cámara', app_phone: 'Teléfono',
    settings: 'Ajustes', search_settings: 'Buscar en Ajustes', network_internet: 'Redes e Internet',
    connected_devices: 'Dispositivos conectados', display: 'Pantalla', system: 'Sistema',
    about_phone: 'Información del teléfono', airplane_mode: 'Modo avión',
    brightness: 'Nivel de brillo', languages: 'Idiomas', contacts: 'Contactos', messages: 'Mensajes',
    clock: 'Reloj', alarm: 'Alarma', save: 'Guardar', cancel: 'Cancelar', delete: 'Eliminar',
    name: 'Nombre', phone: 'Teléfono', start_chat: 'Iniciar chat', add_alarm: 'Añadir alarma',
    create_contact: 'Crear contacto', search_contacts: 'Buscar contactos', label: 'Etiqueta',
    dark_theme: 'Tema oscuro', model: 'Modelo', android_version: 'Versión de Android',
    alarm_tab: 'Alarma', clock_tab: 'Reloj', on: 'Activado', off: 'Desactivado',
  };
  const de = {
    back: 'Zurück', home: 'Startbildschirm', app_settings: 'Einstellungen', app_contacts: 'Kontakte',
    app_messages: 'Nachrichten', app_clock: 'Uhr', app_camera: 'Kamera', app_phone: 'Telefon',
    settings: 'Einstellungen', search_settings: 'In Einstellungen suchen',
    network_internet: 'Netzwerk & Internet', connected_devices: 'Verbundene Geräte',
    display: 'Display', system: 'System', about_phone: 'Über das Telefon',
    airplane_mode: 'Flugmodus', wifi: 'WLAN', brightness: 'Helligkeit', languages: 'Sprachen',
    contacts: 'Kontakte', messages: 'Nachrichten', clock: 'Uhr', alarm: 'Wecker', save: 'Speichern',
    cancel: 'Abbrechen', delete: 'Löschen', name: 'Name', phone: 'Telefon',
    start_chat: 'Chat starten', add_alarm: 'Wecker hinzufügen', create_contact: 'Kontakt erstellen',
    search_contacts: 'Kontakte suchen', label: 'Label', dark_theme: 'Dunkles Design',
    model: 'Modell', android_version: 'Android-Version', alarm_tab: 'Wecker', clock_tab: 'Uhr',
    on: 'An', off: 'Aus',
  };

  const TABLES = {en, zh, ja, es, de};
  const LANGUAGES = [
    {tag: 'en-US', name: 'English (United States)'},
    {tag: 'zh-CN', name: '简体中文 (中国)'},
    {tag: 'ja-JP', name: '日本語'},
    {tag: 'es-ES', name: 'Español'},
    {tag: 'de-DE', name: 'Deutsch'},
  ];

  let lang = 'en';
  const I18N = {
    LANGUAGES,
    setLocale(tag) {
      const base = String(tag || 'en').toLowerCase().split(/[-_]/)[0];
      lang = TABLES[base] ? base : 'en';
      return lang;
    },
    lang: () => lang,
    htmlLang: () => ({zh: 'zh-CN', ja: 'ja', es: 'es', de: 'de', en: 'en'})[lang],
    t(key, vars) {
      let s = TABLES[lang][key];
      if (s === undefined) s = en[key];
      if (s === undefined) s = key;
      if (vars && typeof s === 'string') {
        s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
      }
      return s;
    },
    languageName(tag) {
      const t = String(tag || '').toLowerCase().replace('_', '-');
      const hit = LANGUAGES.find((l) => l.tag.toLowerCase() === t) ||
        LANGUAGES.find((l) => l.tag.toLowerCase().split('-')[0] === t.split('-')[0]);
      return hit ? hit.name : tag;
    },
  };
  window.I18N = I18N;
})();
