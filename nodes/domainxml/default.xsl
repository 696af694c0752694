<?xml version="1.0" encoding="UTF-8"?>
<!--
  Kumo's default stylesheet: instance.xml → libvirt domain XML, for domain types kvm, qemu,
  xen and test. Admins may edit it on the Rules page (and reset it to this shipped version).
  Plain XSLT 1.0 with absolute paths, in the style of Eucalyptus's libvirt.xsl.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8" indent="yes" omit-xml-declaration="yes"/>

  <xsl:variable name="type" select="/instance/kumo/domain/@type"/>
  <xsl:variable name="virtio" select="/instance/os/@virtioRoot = 'true'"/>
  <xsl:variable name="emulated" select="$type = 'kvm' or $type = 'qemu'"/>
  <xsl:variable name="paravirtual" select="$type = 'xen' and /instance/kumo/domain/@vmMode = 'xen'"/>

  <xsl:template match="/">
    <xsl:if test="not(/instance/name)">
      <xsl:message terminate="yes">instance.xml has no /instance/name</xsl:message>
    </xsl:if>
    <domain type="{$type}">
      <name><xsl:value-of select="/instance/name"/></name>
      <uuid><xsl:value-of select="/instance/uuid"/></uuid>
      <xsl:if test="/instance/kumo/ids/@name != ''">
        <title><xsl:value-of select="/instance/kumo/ids/@name"/></title>
      </xsl:if>
      <description>Kumo instance <xsl:value-of select="/instance/name"/> of <xsl:value-of select="/instance/owner"/></description>
      <metadata>
        <kumo:instance xmlns:kumo="urn:kumo:domain:1">
          <kumo:id><xsl:value-of select="/instance/name"/></kumo:id>
          <kumo:reservation><xsl:value-of select="/instance/reservation"/></kumo:reservation>
          <kumo:owner><xsl:value-of select="/instance/owner"/></kumo:owner>
          <kumo:image><xsl:value-of select="/instance/imageId"/></kumo:image>
          <kumo:type><xsl:value-of select="/instance/VmType"/></kumo:type>
          <kumo:node><xsl:value-of select="/instance/kumo/ids/@node"/></kumo:node>
          <kumo:cluster><xsl:value-of select="/instance/kumo/ids/@cluster"/></kumo:cluster>
        </kumo:instance>
      </metadata>
      <memory unit="KiB"><xsl:value-of select="/instance/memoryKB"/></memory>
      <currentMemory unit="KiB"><xsl:value-of select="/instance/kumo/tuning/@currentMemoryKB"/></currentMemory>
      <vcpu placement="static">
        <xsl:if test="/instance/kumo/tuning/@currentCores &lt; /instance/cores">
          <xsl:attribute name="current"><xsl:value-of select="/instance/kumo/tuning/@currentCores"/></xsl:attribute>
        </xsl:if>
        <xsl:value-of select="/instance/cores"/>
      </vcpu>
      <xsl:call-template name="cputune"/>
      <xsl:call-template name="os"/>
      <xsl:if test="not($paravirtual)">
        <features><acpi/><apic/></features>
      </xsl:if>
      <xsl:call-template name="cpu"/>
      <clock offset="{/instance/kumo/clock/@offset}">
        <xsl:if test="$emulated">
          <xsl:for-each select="/instance/kumo/clock/timer">
            <timer><xsl:copy-of select="@*"/></timer>
          </xsl:for-each>
        </xsl:if>
      </clock>
      <on_poweroff>destroy</on_poweroff>
      <on_reboot>restart</on_reboot>
      <on_crash>destroy</on_crash>
      <devices>
        <xsl:apply-templates select="/instance/disks/diskPath"/>
        <xsl:apply-templates select="/instance/volumes/volume/diskPath"/>
        <xsl:if test="/instance/kumo/configDrive">
          <xsl:call-template name="config-drive"/>
        </xsl:if>
        <xsl:if test="/instance/kumo/cdrom and not($paravirtual)">
          <xsl:call-template name="cdrom"/>
        </xsl:if>
        <xsl:apply-templates select="/instance/nics/nic"/>
        <xsl:choose>
          <xsl:when test="$paravirtual">
            <!-- A paravirtual guest has no serial port: its console is Xen's (hvc0). -->
            <console type="pty">
              <log file="{/instance/consoleLogPath}" append="on"/>
              <target type="xen" port="0"/>
            </console>
          </xsl:when>
          <xsl:otherwise>
            <serial type="pty">
              <log file="{/instance/consoleLogPath}" append="on"/>
              <target port="0"/>
            </serial>
            <console type="pty">
              <target type="serial" port="0"/>
            </console>
          </xsl:otherwise>
        </xsl:choose>
        <xsl:if test="/instance/kumo/console/@vnc = 'true'">
          <graphics type="vnc" port="-1" autoport="yes" listen="{/instance/kumo/console/@listen}">
            <xsl:if test="/instance/kumo/console/@password != ''">
              <xsl:attribute name="passwd"><xsl:value-of select="/instance/kumo/console/@password"/></xsl:attribute>
            </xsl:if>
            <listen type="address" address="{/instance/kumo/console/@listen}"/>
          </graphics>
          <video>
            <xsl:choose>
              <xsl:when test="$paravirtual"><model type="xen"/></xsl:when>
              <xsl:otherwise><model type="vga"/></xsl:otherwise>
            </xsl:choose>
          </video>
        </xsl:if>
        <xsl:if test="$emulated">
          <!-- The QEMU guest agent's channel: through it, Kumo reads the guest's addresses. -->
          <channel type="unix">
            <source mode="bind"/>
            <target type="virtio" name="org.qemu.guest_agent.0"/>
          </channel>
          <!-- Balloon statistics every 10 s (the collector's default interval): the guest's
               own view of its memory, once its balloon driver runs. -->
          <memballoon model="virtio"><stats period="10"/></memballoon>
        </xsl:if>
      </devices>
    </domain>
  </xsl:template>

  <xsl:template name="os">
    <os>
      <xsl:choose>
        <xsl:when test="$paravirtual"><type>linux</type></xsl:when>
        <xsl:otherwise><type arch="{/instance/kumo/domain/@arch}">hvm</type></xsl:otherwise>
      </xsl:choose>
      <xsl:choose>
        <xsl:when test="/instance/kernel">
          <kernel><xsl:value-of select="/instance/kernel"/></kernel>
          <xsl:if test="/instance/ramdisk">
            <initrd><xsl:value-of select="/instance/ramdisk"/></initrd>
          </xsl:if>
          <cmdline><xsl:value-of select="/instance/kumo/boot/@cmdline"/></cmdline>
        </xsl:when>
        <xsl:otherwise>
          <xsl:if test="/instance/kumo/cdrom and not($paravirtual)"><boot dev="cdrom"/></xsl:if>
          <boot dev="hd"/>
        </xsl:otherwise>
      </xsl:choose>
    </os>
  </xsl:template>

  <xsl:template name="cpu">
    <xsl:variable name="mode" select="/instance/kumo/cpu/@mode"/>
    <xsl:choose>
      <xsl:when test="$mode = 'host-model' or $mode = 'host-passthrough'">
        <cpu mode="{$mode}"/>
      </xsl:when>
      <xsl:when test="$mode = 'custom'">
        <cpu mode="custom" match="exact">
          <model fallback="allow"><xsl:value-of select="/instance/kumo/cpu/@model"/></model>
        </cpu>
      </xsl:when>
    </xsl:choose>
  </xsl:template>

  <!-- The NoCloud config drive: a CD-ROM, or a read-only disk where there is no IDE (Xen PV). -->
  <xsl:template name="config-drive">
    <disk type="file">
      <xsl:attribute name="device">
        <xsl:choose>
          <xsl:when test="$paravirtual">disk</xsl:when>
          <xsl:otherwise>cdrom</xsl:otherwise>
        </xsl:choose>
      </xsl:attribute>
      <xsl:if test="$emulated or $type = 'xen'"><driver name="qemu" type="raw"/></xsl:if>
      <source file="{/instance/kumo/configDrive/@path}"/>
      <xsl:choose>
        <xsl:when test="$paravirtual"><target dev="xvdz" bus="xen"/></xsl:when>
        <xsl:otherwise><target dev="hdc" bus="ide"/></xsl:otherwise>
      </xsl:choose>
      <readonly/>
    </disk>
  </xsl:template>

  <!-- An ISO image (an installer's) in a CD-ROM drive beside the config drive's. -->
  <xsl:template name="cdrom">
    <disk type="file" device="cdrom">
      <xsl:if test="$emulated"><driver name="qemu" type="raw"/></xsl:if>
      <source file="{/instance/kumo/cdrom/@path}"/>
      <target dev="hdd" bus="ide"/>
      <readonly/>
    </disk>
  </xsl:template>

  <xsl:template match="diskPath">
    <disk device="disk">
      <xsl:attribute name="type">
        <xsl:choose>
          <xsl:when test="@sourceType = 'block'">block</xsl:when>
          <xsl:otherwise>file</xsl:otherwise>
        </xsl:choose>
      </xsl:attribute>
      <xsl:if test="$emulated or $type = 'xen'">
        <!-- On Xen, libxl's qdisk backend (qemu) reads qcow2. -->
        <driver name="qemu" type="{@format}"/>
      </xsl:if>
      <xsl:choose>
        <xsl:when test="@sourceType = 'block'"><source dev="{.}"/></xsl:when>
        <xsl:otherwise><source file="{.}"/></xsl:otherwise>
      </xsl:choose>
      <xsl:choose>
        <xsl:when test="$type = 'xen'">
          <!-- Xen's own block devices, for PV and PV-on-HVM guests alike: xvda, xvdb … -->
          <target dev="xvd{substring(@targetDeviceName, 3)}" bus="xen"/>
        </xsl:when>
        <xsl:when test="$virtio and @targetDeviceNameVirtio">
          <target dev="{@targetDeviceNameVirtio}" bus="{@targetDeviceBusVirtio}"/>
        </xsl:when>
        <xsl:otherwise>
          <target dev="{@targetDeviceName}" bus="{@targetDeviceBus}"/>
        </xsl:otherwise>
      </xsl:choose>
      <xsl:if test="@serial != ''">
        <serial><xsl:value-of select="@serial"/></serial>
      </xsl:if>
    </disk>
  </xsl:template>

  <xsl:template match="nic">
    <interface>
      <xsl:attribute name="type">
        <xsl:choose>
          <xsl:when test="@type"><xsl:value-of select="@type"/></xsl:when>
          <xsl:otherwise>bridge</xsl:otherwise>
        </xsl:choose>
      </xsl:attribute>
      <mac address="{@mac}"/>
      <xsl:choose>
        <xsl:when test="@type = 'network'"><source network="{@networkName}"/></xsl:when>
        <xsl:when test="@type = 'user'"/>
        <xsl:otherwise><source bridge="{@bridgeDeviceName}"/></xsl:otherwise>
      </xsl:choose>
      <xsl:if test="$emulated">
        <model type="{/instance/NicType}"/>
      </xsl:if>
    </interface>
  </xsl:template>
  <!-- The instance's CPU weight (XenServer's 1-65536, 256 normal) as cgroup shares (x4:
       libvirt's normal is 1024) and its cap (% of one CPU, 0 none) as a quota on the whole
       instance; nothing when both are at their defaults. -->
  <xsl:template name="cputune">
    <xsl:variable name="tuning" select="/instance/kumo/tuning"/>
    <xsl:if test="$tuning/@weight != 256 or $tuning/@cap &gt; 0">
      <cputune>
        <shares><xsl:value-of select="$tuning/@weight * 4"/></shares>
        <xsl:if test="$tuning/@cap &gt; 0">
          <global_period>100000</global_period>
          <global_quota><xsl:value-of select="$tuning/@cap * 1000"/></global_quota>
        </xsl:if>
      </cputune>
    </xsl:if>
  </xsl:template>
</xsl:stylesheet>
