"""The resources the simulator serves, declared as data.

Attribute names, types, defaults and ranges follow the NITRO API reference
(12.x reference pages, extended with the 14.1 attributes named in the public
NetScaler Ansible collection). Only attributes a FactorGate deployment could
touch are declared; any other attribute in a payload is rejected with 278
"Invalid argument", as the appliance does for unknown names.
"""

from __future__ import annotations

from . import errors
from .schema import (
    ADD,
    COUNT,
    DELETE,
    DISABLE,
    DOUBLE,
    ENABLE,
    GET,
    INTEGER,
    RENAME,
    STRING_LIST,
    UNSET,
    UPDATE,
    Attr,
    BindingSpec,
    ResourceSpec,
    b,
    d,
    e,
    i,
    ro,
    s,
)

OBJECT_OPS = frozenset({ADD, UPDATE, UNSET, DELETE, GET, COUNT})
ON_OFF = "ON OFF"
YES_NO = "YES NO"
ENABLED_DISABLED = "ENABLED DISABLED"

_LDAP_ATTRIBUTES = tuple(s(f"attribute{n}") for n in range(1, 17))

LDAP_ACTION = ResourceSpec(
    name="authenticationldapaction",
    key="name",
    required=("name",),
    operations=OBJECT_OPS,
    exclusive=(("serverip", "servername"),),
    # NOTE: the reference marks only name as mandatory; an action without a
    # server is useless, and requiring one is the strict choice.
    one_of=(("serverip", "servername"),),
    attrs=(
        s("name", immutable=True),
        s("serverip"),
        s("servername"),
        i("serverport", 389, minimum=1),
        d("authtimeout", 3, minimum=1),
        s("ldapbase"),
        s("ldapbinddn"),
        s("ldapbinddnpassword", secret=True),
        s("ldaploginname"),
        s("searchfilter"),
        s("groupattrname"),
        s("subattributename"),
        e("sectype", "PLAINTEXT TLS SSL", "PLAINTEXT"),
        e("svrtype", "AD NDS", "AD"),
        s("ssonameattribute"),
        e("authentication", ENABLED_DISABLED, "ENABLED"),
        e("requireuser", YES_NO, "YES"),
        e("passwdchange", ENABLED_DISABLED, "DISABLED"),
        e("nestedgroupextraction", ON_OFF, "OFF"),
        d("maxnestinglevel", 2, minimum=2),
        e("followreferrals", ON_OFF, "OFF"),
        d("maxldapreferrals", 1, minimum=1),
        e("referraldnslookup", "A-REC SRV-REC MSSRV-REC", "A-REC"),
        s("mssrvrecordlocation"),
        e("validateservercert", YES_NO, "NO"),
        s("ldaphostname"),
        s("groupnameidentifier"),
        s("groupsearchattribute"),
        s("groupsearchsubattribute"),
        s("groupsearchfilter"),
        s("defaultauthenticationgroup"),
        *_LDAP_ATTRIBUTES,
        s("attributes"),
        s("otpsecret"),
        s("sshpublickey"),
        s("email", "mail"),
        s("kbattribute"),
        s("alternateemailattr"),
        s("cloudattributes"),
        s("pushservice"),
        ro("success", "0", DOUBLE),
        ro("failure", "0", DOUBLE),
    ),
)

RADIUS_ACTION = ResourceSpec(
    name="authenticationradiusaction",
    key="name",
    required=("name", "radkey"),
    operations=OBJECT_OPS,
    exclusive=(("serverip", "servername"),),
    one_of=(("serverip", "servername"),),
    attrs=(
        s("name", immutable=True),
        s("serverip"),
        s("servername"),
        # NOTE: 1812 is the CLI default; the reference page states no default.
        i("serverport", 1812, minimum=1),
        d("authtimeout", 3, minimum=1),
        s("radkey", secret=True),
        e("radnasip", ENABLED_DISABLED),
        s("radnasid"),
        d("radvendorid", minimum=1),
        d("radattributetype", minimum=1),
        s("radgroupsprefix"),
        s("radgroupseparator"),
        e("passencoding", "pap chap mschapv1 mschapv2", "pap"),
        d("ipvendorid"),
        d("ipattributetype", minimum=1),
        e("accounting", ON_OFF),
        d("pwdvendorid", minimum=1),
        d("pwdattributetype", minimum=1),
        s("defaultauthenticationgroup"),
        e("callingstationid", ENABLED_DISABLED, "DISABLED"),
        d("authservretry", 3, minimum=1, maximum=10),
        e("authentication", ON_OFF, "ON"),
        s("targetlbvserver"),
        e("transport", "UDP TCP TLS", "UDP"),
        e("messageauthenticator", ON_OFF, "ON"),
        e("tunnelendpointclientip", ENABLED_DISABLED, "DISABLED"),
        ro("ipaddress", None),
        ro("success", "0", DOUBLE),
        ro("failure", "0", DOUBLE),
    ),
)


def _classic_policy(name: str, action_type: str) -> ResourceSpec:
    return ResourceSpec(
        name=name,
        key="name",
        required=("name", "rule"),
        operations=OBJECT_OPS,
        references=(("reqaction", action_type),),
        attrs=(s("name", immutable=True), s("rule"), s("reqaction")),
    )


LDAP_POLICY = _classic_policy("authenticationldappolicy", "authenticationldapaction")
RADIUS_POLICY = _classic_policy("authenticationradiuspolicy", "authenticationradiusaction")

ADVANCED_POLICY = ResourceSpec(
    name="authenticationpolicy",
    key="name",
    required=("name", "rule", "action"),
    operations=OBJECT_OPS | {RENAME},
    references=(("action", "authentication_action"),),
    attrs=(
        s("name", immutable=True),
        s("rule"),
        s("action"),
        s("undefaction"),
        s("comment"),
        s("logaction"),
        ro("hits", "0", DOUBLE),
        ro("policysubtype", None),
        ro("description", None),
    ),
)

VPN_VSERVER = ResourceSpec(
    name="vpnvserver",
    key="name",
    required=("name",),
    operations=OBJECT_OPS | {RENAME, ENABLE, DISABLE},
    attrs=(
        s("name", immutable=True),
        e("servicetype", "SSL DTLS", "SSL", immutable=True),
        s("ipv46"),
        d("range", 1, minimum=1),
        i("port", minimum=1, maximum=65535),
        e("state", ENABLED_DISABLED, "ENABLED"),
        e("authentication", ON_OFF, "ON"),
        e("doublehop", ENABLED_DISABLED, "DISABLED"),
        d("maxaaausers", 0),
        e("icaonly", ON_OFF, "OFF"),
        e("icaproxysessionmigration", ON_OFF, "OFF"),
        e("dtls", ON_OFF, "ON"),
        e("loginonce", ON_OFF, "OFF"),
        e("advancedepa", ON_OFF, "OFF"),
        e("devicecert", ON_OFF, "OFF"),
        e("downstateflush", ENABLED_DISABLED, "ENABLED"),
        s("listenpolicy", "NONE"),
        d("listenpriority", 101, minimum=0, maximum=101),
        s("tcpprofilename"),
        s("httpprofilename", "nshttp_default_strict_validation"),
        s("comment"),
        e("appflowlog", ENABLED_DISABLED, "ENABLED"),
        e("icmpvsrresponse", "PASSIVE ACTIVE", "PASSIVE"),
        e("rhistate", "PASSIVE ACTIVE", "PASSIVE"),
        s("netprofile"),
        e("cginfrahomepageredirect", ENABLED_DISABLED, "ENABLED"),
        d("maxloginattempts", minimum=1, maximum=255),
        d("failedlogintimeout", minimum=1),
        e("l2conn", ON_OFF, "OFF"),
        e("deploymenttype", "NONE ICA_WEBINTERFACE ICA_STOREFRONT MOBILITY WIONNS", "NONE"),
        s("rdpserverprofilename"),
        e("logoutonsmartcardremoval", ON_OFF, "OFF"),
        s("userdomains"),
        s("authnprofile"),
        s("vserverfqdn"),
        s("pcoipvserverprofilename"),
        e("samesite", "None LAX STRICT"),
        ro("ip", None),
        ro("type", "ADDRESS"),
        ro("curstate", "UP"),
        ro("status", 1, INTEGER),
        ro("curaaausers", "0", DOUBLE),
        ro("curtotalusers", "0", DOUBLE),
        ro("nodefaultbindings", "NO"),
    ),
)

LB_SERVICE_TYPES = (
    "HTTP FTP TCP UDP SSL SSL_BRIDGE SSL_TCP DTLS NNTP DNS DHCPRA ANY SIP_UDP "
    "SIP_TCP SIP_SSL DNS_TCP RTSP PUSH SSL_PUSH RADIUS RDP MYSQL MSSQL DIAMETER "
    "SSL_DIAMETER TFTP ORACLE SMPP SYSLOGTCP SYSLOGUDP FIX SSL_FIX PROXY USER_TCP "
    "USER_SSL_TCP QUIC IPFIX LOGSTREAM MONGO MONGO_TLS MQTT MQTT_TLS QUIC_BRIDGE HTTP_QUIC"
)

LB_VSERVER = ResourceSpec(
    name="lbvserver",
    key="name",
    required=("name", "servicetype"),
    operations=OBJECT_OPS | {RENAME, ENABLE, DISABLE},
    attrs=(
        s("name", immutable=True),
        e("servicetype", LB_SERVICE_TYPES, immutable=True),
        s("ipv46", "0.0.0.0"),
        i("port", 0, minimum=1, maximum=65535),
        e(
            "persistencetype",
            "SOURCEIP COOKIEINSERT SSLSESSION RULE URLPASSIVE CUSTOMSERVERID DESTIP "
            "SRCIPDESTIP CALLID RTSPSID DIAMETER FIXSESSION USERSESSION NONE",
            "NONE",
        ),
        d("timeout", 2, minimum=0, maximum=1440),
        e(
            "lbmethod",
            "ROUNDROBIN LEASTCONNECTION LEASTRESPONSETIME URLHASH DOMAINHASH "
            "DESTINATIONIPHASH SOURCEIPHASH SRCIPDESTIPHASH LEASTBANDWIDTH LEASTPACKETS "
            "TOKEN SRCIPSRCPORTHASH LRTM CALLIDHASH CUSTOMLOAD LEASTREQUEST AUDITLOGHASH "
            "STATICPROXIMITY USER_TOKEN",
            "LEASTCONNECTION",
        ),
        s("rule", "none"),
        e("state", ENABLED_DISABLED, "ENABLED"),
        d("clttimeout", 180, minimum=0, maximum=31536000),
        s("comment"),
        d("td", minimum=0, maximum=4094),
        s("backupvserver"),
        e("m", "IP MAC IPTUNNEL TOS", "IP"),
        e("downstateflush", ENABLED_DISABLED, "ENABLED"),
        e("appflowlog", ENABLED_DISABLED, "ENABLED"),
        ro("type", "ADDRESS"),
        ro("curstate", "DOWN"),
        ro("effectivestate", "DOWN"),
        ro("status", 1, INTEGER),
        ro("health", "0", DOUBLE),
        ro("totalservices", "0", DOUBLE),
        ro("activeservices", "0", DOUBLE),
    ),
)

SERVICE_GROUP = ResourceSpec(
    name="servicegroup",
    key="servicegroupname",
    required=("servicegroupname", "servicetype"),
    operations=OBJECT_OPS | {RENAME, ENABLE, DISABLE},
    attrs=(
        s("servicegroupname", immutable=True),
        e("servicetype", LB_SERVICE_TYPES, immutable=True),
        d("td", minimum=0, maximum=4094),
        d("maxclient", 0, minimum=0, maximum=4294967294),
        d("maxreq", 0, minimum=0, maximum=65535),
        e("cacheable", YES_NO, "NO"),
        e("cip", ENABLED_DISABLED, "DISABLED"),
        e("usip", YES_NO, "NO"),
        e("pathmonitor", YES_NO, "NO"),
        e("pathmonitorindv", YES_NO, "NO"),
        e("useproxyport", YES_NO, "YES"),
        e("healthmonitor", YES_NO, "YES"),
        e("sp", ON_OFF, "OFF"),
        e("rtspsessionidremap", ON_OFF, "OFF"),
        d("clttimeout", 180, minimum=0, maximum=31536000),
        d("svrtimeout", 360, minimum=0, maximum=31536000),
        e("cka", YES_NO, "NO"),
        e("tcpb", YES_NO, "NO"),
        e("cmp", YES_NO, "NO"),
        d("maxbandwidth", 0, minimum=0, maximum=4294967287),
        d("monthreshold", 0, minimum=0, maximum=65535),
        e("state", ENABLED_DISABLED, "ENABLED"),
        e("downstateflush", ENABLED_DISABLED, "ENABLED"),
        s("tcpprofilename"),
        s("httpprofilename"),
        s("comment"),
        e("appflowlog", ENABLED_DISABLED, "ENABLED"),
        s("netprofile"),
        e("autoscale", "DISABLED DNS POLICY CLOUD API", "DISABLED"),
        e("monconnectionclose", "RESET FIN", "NONE"),
        ro("numofconnections", 0, INTEGER),
        ro("servicegroupeffectivestate", "DOWN"),
        ro("monstatcode", 0, INTEGER),
    ),
)

MONITOR_TYPES = (
    "PING TCP HTTP TCP-ECV HTTP-ECV UDP-ECV DNS FTP LDNS-PING LDNS-TCP LDNS-DNS RADIUS "
    "USER HTTP-INLINE SIP-UDP SIP-TCP LOAD FTP-EXTENDED SMTP SNMP NNTP MYSQL MYSQL-ECV "
    "MSSQL-ECV ORACLE-ECV LDAP POP3 CITRIX-XML-SERVICE CITRIX-WEB-INTERFACE DNS-TCP RTSP "
    "ARP CITRIX-AG CITRIX-AAC-LOGINPAGE CITRIX-AAC-LAS CITRIX-XD-DDC ND6 CITRIX-WI-EXTENDED "
    "DIAMETER RADIUS_ACCOUNTING STOREFRONT APPC SMPP CITRIX-XNC-ECV CITRIX-XDM "
    "CITRIX-STA-SERVICE CITRIX-STA-SERVICE-NHOP MQTT HTTP2"
)
TIME_UNITS = "SEC MSEC MIN"

LB_MONITOR = ResourceSpec(
    name="lbmonitor",
    key="monitorname",
    required=("monitorname", "type"),
    operations=OBJECT_OPS | {ENABLE, DISABLE},
    extra_key_args=("type",),
    attrs=(
        s("monitorname", immutable=True),
        e("type", MONITOR_TYPES),
        e("action", "NONE LOG DOWN", "DOWN"),
        Attr("respcode", STRING_LIST),
        s("username"),
        s("password", secret=True),
        s("secondarypassword", secret=True),
        s("radkey", secret=True),
        s("radnasid"),
        s("radnasip"),
        d("radaccounttype", 1, minimum=0, maximum=15),
        s("radframedip"),
        s("radaccountsession"),
        e("lrtm", ENABLED_DISABLED, "DISABLED"),
        d("deviation", 0, minimum=0, maximum=20939),
        e("units1", TIME_UNITS, "SEC"),
        i("interval", 5, minimum=1, maximum=20940),
        e("units3", TIME_UNITS, "SEC"),
        i("resptimeout", 2, minimum=1, maximum=20939),
        e("units4", TIME_UNITS, "SEC"),
        d("resptimeoutthresh", 0, minimum=0, maximum=100),
        i("retries", 3, minimum=1, maximum=127),
        i("failureretries", 0, minimum=0, maximum=32),
        i("alertretries", 0, minimum=0, maximum=32),
        i("successretries", 1, minimum=1, maximum=32),
        i("downtime", 30, minimum=1, maximum=20939),
        e("units2", TIME_UNITS, "SEC"),
        s("destip"),
        i("destport"),
        e("state", ENABLED_DISABLED, "ENABLED"),
        e("reverse", YES_NO, "NO"),
        e("transparent", YES_NO, "NO"),
        e("iptunnel", YES_NO, "NO"),
        e("tos", YES_NO, "NO"),
        e("secure", YES_NO, "NO"),
        s("basedn"),
        s("binddn"),
        s("filter"),
        s("attribute"),
        s("sslprofile"),
        ro("dup_state", "ENABLED"),
        ro("multimetrictable", None),
    ),
)

PORTAL_THEME = ResourceSpec(
    name="vpnportaltheme",
    key="name",
    required=("name", "basetheme"),
    operations=frozenset({ADD, DELETE, GET, COUNT}),
    attrs=(
        s("name", immutable=True),
        e("basetheme", "Default Greenbubble X1 RfWebUI", immutable=True),
        ro("feature", None),
    ),
)

SYSTEM_FILE = ResourceSpec(
    name="systemfile",
    key="filename",
    # NOTE: the reference marks only filename and filecontent as mandatory and
    # names no default location; the simulator requires filelocation.
    required=("filename", "filecontent", "filelocation"),
    operations=frozenset({ADD, DELETE, GET}),
    attrs=(
        s("filename", immutable=True),
        s("filecontent"),
        s("filelocation", immutable=True),
        e("fileencoding", "BASE64", "BASE64"),
        ro("fileaccesstime", None),
        ro("filemodifiedtime", None),
        ro("filemode", None),
        ro("filesize", None),
    ),
)

OBJECT_SPECS: dict[str, ResourceSpec] = {
    spec.name: spec
    for spec in (
        LDAP_ACTION,
        RADIUS_ACTION,
        LDAP_POLICY,
        RADIUS_POLICY,
        ADVANCED_POLICY,
        VPN_VSERVER,
        LB_VSERVER,
        SERVICE_GROUP,
        LB_MONITOR,
        PORTAL_THEME,
        SYSTEM_FILE,
    )
}


def _authn_binding(child: str, family: str) -> BindingSpec:
    return BindingSpec(
        name=f"vpnvserver_{child}_binding",
        parent="vpnvserver",
        parent_key="name",
        child_attr="policy",
        required=("name", "policy"),
        match_keys=("policy", "secondary", "groupextraction", "bindpoint"),
        key_defaults={"secondary": False, "groupextraction": False, "bindpoint": None},
        not_bound_error=errors.POLICY_NOT_BOUND,
        policy_family=family,
        attrs=(
            s("name"),
            s("policy"),
            d("priority", minimum=0, maximum=2147483647),
            b("secondary"),
            b("groupextraction"),
            s("gotopriorityexpression"),
            e("bindpoint", "REQUEST RESPONSE ICA_REQUEST OTHERTCP_REQUEST AAA_REQUEST"),
            ro("acttype", "0", DOUBLE),
        ),
    )


VPN_LDAP_BINDING = _authn_binding("authenticationldappolicy", "classic")
VPN_RADIUS_BINDING = _authn_binding("authenticationradiuspolicy", "classic")
VPN_POLICY_BINDING = _authn_binding("authenticationpolicy", "advanced")

VPN_THEME_BINDING = BindingSpec(
    name="vpnvserver_vpnportaltheme_binding",
    parent="vpnvserver",
    parent_key="name",
    child_attr="portaltheme",
    required=("name", "portaltheme"),
    match_keys=("portaltheme",),
    attrs=(s("name"), s("portaltheme"), ro("acttype", "0", DOUBLE)),
)

SERVICE_GROUP_MEMBER_BINDING = BindingSpec(
    name="servicegroup_servicegroupmember_binding",
    parent="servicegroup",
    parent_key="servicegroupname",
    child_attr="ip",
    required=("servicegroupname", "port"),
    match_keys=("ip", "servername", "port"),
    key_defaults={"ip": None, "servername": None},
    attrs=(
        s("servicegroupname"),
        s("ip"),
        s("servername"),
        i("port", minimum=1, maximum=65535),
        d("weight", 1, minimum=1, maximum=100),
        s("customserverid", "None"),
        d("serverid"),
        e("state", ENABLED_DISABLED, "ENABLED"),
        d("hashid", minimum=1),
        d("order"),
        ro("svrstate", "UP"),
        ro("statechangetimesec", "Mon Jan  1 00:00:00 2024"),
        ro("tickssincelaststatechange", "0", DOUBLE),
        ro("graceful", "NO"),
        ro("delay", "0", DOUBLE),
    ),
)

SERVICE_GROUP_MONITOR_BINDING = BindingSpec(
    name="servicegroup_lbmonitor_binding",
    parent="servicegroup",
    parent_key="servicegroupname",
    child_attr="monitor_name",
    required=("servicegroupname", "monitor_name"),
    match_keys=("monitor_name",),
    duplicate_error=errors.MONITOR_ALREADY_BOUND,
    not_bound_error=errors.MONITOR_NOT_BOUND,
    attrs=(
        s("servicegroupname"),
        s("monitor_name"),
        d("weight", minimum=1, maximum=100),
        e("monstate", ENABLED_DISABLED, "ENABLED"),
        b("passive"),
        ro("monweight", "1", DOUBLE),
    ),
)

LB_SERVICE_GROUP_BINDING = BindingSpec(
    name="lbvserver_servicegroup_binding",
    parent="lbvserver",
    parent_key="name",
    child_attr="servicegroupname",
    required=("name", "servicegroupname"),
    match_keys=("servicegroupname",),
    not_bound_error=errors.SERVICE_NOT_BOUND,
    attrs=(
        s("name"),
        s("servicegroupname"),
        d("weight", minimum=1, maximum=100),
        ro("servicename", None),
    ),
)

BINDING_SPECS: dict[str, BindingSpec] = {
    spec.name: spec
    for spec in (
        VPN_LDAP_BINDING,
        VPN_RADIUS_BINDING,
        VPN_POLICY_BINDING,
        VPN_THEME_BINDING,
        SERVICE_GROUP_MEMBER_BINDING,
        SERVICE_GROUP_MONITOR_BINDING,
        LB_SERVICE_GROUP_BINDING,
    )
}

# Aggregate read-only resources: GET /<parent>_binding/<name>.
AGGREGATE_BINDINGS: dict[str, str] = {
    "vpnvserver_binding": "vpnvserver",
    "lbvserver_binding": "lbvserver",
    "servicegroup_binding": "servicegroup",
}

BUILTIN_THEMES = ("Default", "Greenbubble", "X1", "RfWebUI")
RESERVED_THEME_NAMES = ("EULA", "Custom")
BUILTIN_AUTHN_ACTIONS = ("ALLOW", "DENY", "NO_AUTHN")

# Feature names as NITRO lists them in GET nsfeature "feature".
FEATURES = (
    "WL SP LB CS CR SC CMP PQ SSL GSLB HDOSP CF IC SSLVPN AAA OSPF RIP BGP REWRITE "
    "IPv6PT AppFw RESPONDER HTMLInjection push AppFlow CloudBridge ISIS CH AppQoE "
    "ContentAccelerator RISE FEO LSN RDPProxy Rep URLFiltering VideoOptimization "
    "ForwardProxy SSLInterception AdaptiveTCP CQA CI BOT APIGateway"
).split()
DEFAULT_FEATURES = ("LB", "SSL", "REWRITE", "RESPONDER")

