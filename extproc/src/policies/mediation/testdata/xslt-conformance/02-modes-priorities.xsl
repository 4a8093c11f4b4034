<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" indent="no"/>
  <xsl:template match="/">
    <out>
      <xsl:apply-templates select="orders/order"/>
      <summary><xsl:apply-templates select="orders/order" mode="summary"/></summary>
    </out>
  </xsl:template>
  <xsl:template match="order"><o><xsl:value-of select="@id"/></o></xsl:template>
  <xsl:template match="order[@region='emea']" priority="2"><emea><xsl:value-of select="@id"/></emea></xsl:template>
  <xsl:template match="order" mode="summary"><xsl:value-of select="count(item)"/><xsl:text>;</xsl:text></xsl:template>
  <xsl:template match="*[@id='o2']" mode="summary" priority="5">two;</xsl:template>
</xsl:stylesheet>
