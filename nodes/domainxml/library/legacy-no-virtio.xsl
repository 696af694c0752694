<?xml version="1.0" encoding="UTF-8"?>
<!--
  Legacy images without virtio drivers (the "Legacy Images" recipe for Eucalyptus 3's
  libvirt.xsl): every disk moves to the emulated IDE bus and its target sdX or vdX becomes
  hdX; root=/dev/sdaN and root=/dev/vdaN on the kernel command line (and a Xen-style
  <os><root>) become /dev/hdaN; every network interface gets the emulated e1000 model.
  Use it for old images whose kernel has neither virtio nor SCSI drivers (RHEL 6 nodes no
  longer offer the SCSI bus Eucalyptus falls back to). IDE holds at most four devices
  (hda-hdd) and is slow: enable it only for the instances that need it.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" encoding="UTF-8" indent="yes" omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:template match="@*|node()">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
    </xsl:copy>
  </xsl:template>

  <!-- Replace every occurrence of $replace in $text by $by (XSLT 1.0 has no replace()). -->
  <xsl:template name="string-replace-all">
    <xsl:param name="text"/>
    <xsl:param name="replace"/>
    <xsl:param name="by"/>
    <xsl:choose>
      <xsl:when test="$replace != '' and contains($text, $replace)">
        <xsl:value-of select="substring-before($text, $replace)"/>
        <xsl:value-of select="$by"/>
        <xsl:call-template name="string-replace-all">
          <xsl:with-param name="text" select="substring-after($text, $replace)"/>
          <xsl:with-param name="replace" select="$replace"/>
          <xsl:with-param name="by" select="$by"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise>
        <xsl:value-of select="$text"/>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- $prefix followed by sd or vd (root=/dev/sda1, /dev/vda1) becomes $prefix followed by hd. -->
  <xsl:template name="legacy-root">
    <xsl:param name="text"/>
    <xsl:param name="prefix"/>
    <xsl:variable name="no-sd">
      <xsl:call-template name="string-replace-all">
        <xsl:with-param name="text" select="$text"/>
        <xsl:with-param name="replace" select="concat($prefix, 'sd')"/>
        <xsl:with-param name="by" select="concat($prefix, 'hd')"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:call-template name="string-replace-all">
      <xsl:with-param name="text" select="$no-sd"/>
      <xsl:with-param name="replace" select="concat($prefix, 'vd')"/>
      <xsl:with-param name="by" select="concat($prefix, 'hd')"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="/domain/os/cmdline">
    <cmdline>
      <xsl:call-template name="legacy-root">
        <xsl:with-param name="text" select="."/>
        <xsl:with-param name="prefix" select="'root=/dev/'"/>
      </xsl:call-template>
    </cmdline>
  </xsl:template>

  <xsl:template match="/domain/os/root">
    <root>
      <xsl:call-template name="legacy-root">
        <xsl:with-param name="text" select="."/>
        <xsl:with-param name="prefix" select="'/dev/'"/>
      </xsl:call-template>
    </root>
  </xsl:template>

  <!-- Disks (not floppies) go to the IDE bus as hdX. -->
  <xsl:template match="/domain/devices/disk[not(@device = 'floppy')]/target">
    <target>
      <xsl:apply-templates select="@*[name() != 'dev' and name() != 'bus']"/>
      <xsl:attribute name="dev">
        <xsl:choose>
          <xsl:when test="starts-with(@dev, 'sd')">
            <xsl:call-template name="string-replace-all">
              <xsl:with-param name="text" select="@dev"/>
              <xsl:with-param name="replace" select="'sd'"/>
              <xsl:with-param name="by" select="'hd'"/>
            </xsl:call-template>
          </xsl:when>
          <xsl:when test="starts-with(@dev, 'vd')">
            <xsl:call-template name="string-replace-all">
              <xsl:with-param name="text" select="@dev"/>
              <xsl:with-param name="replace" select="'vd'"/>
              <xsl:with-param name="by" select="'hd'"/>
            </xsl:call-template>
          </xsl:when>
          <xsl:otherwise>
            <xsl:value-of select="@dev"/>
          </xsl:otherwise>
        </xsl:choose>
      </xsl:attribute>
      <xsl:attribute name="bus">ide</xsl:attribute>
      <xsl:apply-templates select="node()"/>
    </target>
  </xsl:template>

  <!-- A PCI address of a virtio disk does not fit an IDE disk: libvirt assigns a new one. -->
  <xsl:template match="/domain/devices/disk[not(@device = 'floppy')]/address"/>

  <!-- Every interface gets the e1000 model (replacing virtio, or added when absent). -->
  <xsl:template match="/domain/devices/interface">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()[not(self::model)]"/>
      <model type="e1000"/>
    </xsl:copy>
  </xsl:template>
</xsl:stylesheet>
