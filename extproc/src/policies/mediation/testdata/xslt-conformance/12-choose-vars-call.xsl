<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" indent="no"/>
  <xsl:variable name="total" select="sum(//item/@qty)"/>
  <xsl:template name="band">
    <xsl:param name="n"/>
    <xsl:choose>
      <xsl:when test="$n &gt; 50">big</xsl:when>
      <xsl:when test="$n &gt; 5">mid</xsl:when>
      <xsl:otherwise>small</xsl:otherwise>
    </xsl:choose>
  </xsl:template>
  <xsl:template match="/">
    <bands total="{$total}">
      <xsl:for-each select="//item">
        <b sku="{@sku}" pct="{round(@qty * 100 div $total)}"><xsl:call-template name="band"><xsl:with-param name="n" select="@qty"/></xsl:call-template></b>
      </xsl:for-each>
      <c><xsl:value-of select="concat(substring-before('a-b','-'),substring-after('a-b','-'),string-length('héllo'),translate('abc','ab','AB'))"/></c>
      <xsl:comment> done </xsl:comment>
      <xsl:processing-instruction name="pi">x</xsl:processing-instruction>
    </bands>
  </xsl:template>
</xsl:stylesheet>
